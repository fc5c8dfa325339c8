import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Cacheable } from 'nestjs-distributed-cache';
import { formatValue, type Row, type RowKind, settleRows, target } from '../core/report.js';
import { type BenchContext, type Scenario } from '../core/scenario.js';
import { makeValue, type BenchValue } from '../core/workload.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';
import { assertHits, HOT_KEYS, measureHits } from './l1-hit.scenario.js';

/** A provider with a decorated read, as an app would write it. */
@Injectable()
export class BenchCatalogue {
  /** How often the method body ran (each run is a miss). */
  bodyRuns = 0;

  @Cacheable({ key: 'product:{0}', ttl: '5m' })
  async findOne(id: string): Promise<BenchValue> {
    this.bodyRuns++;
    return Promise.resolve(makeValue(Number(id)));
  }
}

interface HitSubject {
  label: string;
  kind: RowKind;
  op: (i: number) => unknown;
  runs: number[];
}

/**
 * (b) `@Cacheable` hit: a decorated provider method whose result is in L1, next to a direct
 * `CacheService.get` of the same key in the same app, a raw lru-cache get and an awaited Map.get.
 */
export const cacheableHitScenario: Scenario = {
  id: 'b',
  title: '@Cacheable hit vs CacheService.get hit (L1)',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const ids = Array.from({ length: HOT_KEYS }, (_, i) => String(i));
    const keys = ids.map((id) => `product:${id}`);
    const ours = await startOurCache(redisOptions(context.redisUrl, 'bench-b'), [BenchCatalogue]);
    const notes: string[] = [
      "every row runs after the decorated method's first calls (getOrSet misses), so with whatever process-wide switch those turned on (see (a))",
    ];
    const subjects: HitSubject[] = [];
    let decoratedUnavailable: string | undefined;
    try {
      const catalogue = ours.app.get(BenchCatalogue);
      const cache = ours.cache;
      for (const id of ids) await catalogue.findOne(id);
      await ours.cache.flush();
      const before = catalogue.bodyRuns;
      for (const id of ids) await catalogue.findOne(id);
      if (catalogue.bodyRuns !== before) {
        decoratedUnavailable = `the decorated method still ran on a repeated call (${catalogue.bodyRuns - before} of ${HOT_KEYS}): not bound to the cache`;
      }

      const map = new Map<string, unknown>(keys.map((key, i) => [key, makeValue(i)]));
      const lru = new LRUCache<string, object>({ max: 10_000 });
      keys.forEach((key, i) => lru.set(key, makeValue(i)));
      subjects.push({
        label: 'await Map.get',
        kind: 'limit',
        runs: [],
        op: (i) => map.get(keys[i & (HOT_KEYS - 1)]!),
      });
      subjects.push({
        label: 'await lru-cache get',
        kind: 'raw',
        runs: [],
        op: (i) => lru.get(keys[i & (HOT_KEYS - 1)]!),
      });
      subjects.push({
        label: 'CacheService.get (ours, direct)',
        kind: 'ours',
        runs: [],
        op: (i) => cache.get(keys[i & (HOT_KEYS - 1)]!),
      });
      if (decoratedUnavailable === undefined) {
        subjects.push({
          label: "@Cacheable({ key: 'product:{0}' }) method (ours)",
          kind: 'ours',
          runs: [],
          op: (i) => catalogue.findOne(ids[i & (HOT_KEYS - 1)]!),
        });
      }
      for (const subject of subjects) await assertHits(subject.label, subject.op);
      const runsBefore = catalogue.bodyRuns;
      await measureHits('b', subjects, sizes.runs, sizes.l1RunMs);
      if (catalogue.bodyRuns !== runsBefore) {
        notes.push(
          `the decorated method body ran ${catalogue.bodyRuns - runsBefore} times during the hit loops (expected 0)`,
        );
      }
    } finally {
      await ours.close();
    }

    const rows: Row[] = settleRows(
      subjects.map(({ label, kind, runs }) => ({ subject: label, kind, runs })),
    );
    if (decoratedUnavailable !== undefined) {
      rows.push({
        subject: '@Cacheable method (ours)',
        kind: 'ours',
        unavailable: decoratedUnavailable,
      });
    }
    const direct = rows.find((row) => row.subject.startsWith('CacheService.get'))?.value;
    const decorated = rows.find(
      (row) => row.subject.startsWith('@Cacheable') && row.value !== undefined,
    )?.value;
    return [
      {
        id: 'b',
        title: this.title,
        setup: `provider method @Cacheable({ key: 'product:{0}' }) in a Nest app, ${HOT_KEYS} hot keys, one awaited call at a time, ${sizes.l1RunMs} ms per run, ${sizes.runs} runs`,
        metric: { label: 'calls/s', higherIsBetter: true, format: 'rate' },
        rows,
        notes,
        targets: [
          target(
            '@Cacheable hit costs <= 2x a direct CacheService.get hit (cost ratio)',
            direct !== undefined && decorated !== undefined ? direct / decorated : undefined,
            '<=',
            2,
            `direct ${formatValue(direct, 'rate')} / decorated ${formatValue(decorated, 'rate')} calls/s`,
          ),
        ],
      },
    ];
  },
};
