import { delay, median } from '../core/measure.js';
import { type Row, type RowKind, settleRows, target } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeValue } from '../core/workload.js';
import { ANCHOR_LABELS, ANCHOR_NAMES, createAnchor } from '../subjects/anchors.subject.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

type GetOrSet = (key: string, factory: () => Promise<unknown>) => Promise<unknown>;

interface StampedeSubject {
  label: string;
  kind: RowKind;
  getOrSet: GetOrSet;
  close?: () => Promise<void>;
  totalMs: number[];
  factoryCalls: number[];
}

/** The reference: a bare `Map<key, Promise>` single-flight in front of the factory, no cache. */
function bareSingleFlight(): GetOrSet {
  const flights = new Map<string, Promise<unknown>>();
  return (key, factory) => {
    const inFlight = flights.get(key);
    if (inFlight) return inFlight;
    const flight = factory().finally(() => flights.delete(key));
    flights.set(key, flight);
    return flight;
  };
}

/**
 * (f) Stampede: N concurrent read-throughs of one missing key whose factory takes 50 ms; counts
 * factory runs and times until every caller has its value.
 */
export const stampedeScenario: Scenario = {
  id: 'f',
  title: 'Stampede: concurrent getOrSet of one missing key',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const callers = sizes.stampedeCallers;
    const subjects: StampedeSubject[] = [
      {
        label: 'bare Map<key, Promise> single-flight',
        kind: 'limit',
        getOrSet: bareSingleFlight(),
        totalMs: [],
        factoryCalls: [],
      },
    ];
    const ours = await startOurCache(redisOptions(context.redisUrl, 'bench-f'));
    subjects.push({
      label: 'CacheService.getOrSet (ours)',
      kind: 'ours',
      getOrSet: (key, factory) => ours.cache.getOrSet(key, factory),
      close: () => ours.close(),
      totalMs: [],
      factoryCalls: [],
    });
    for (const name of ANCHOR_NAMES) {
      const anchor = await createAnchor(name, {
        redisUrl: context.redisUrl,
        namespace: `bench-f-${name}`,
      });
      subjects.push({
        label: `${ANCHOR_LABELS[name]}${name === 'cache-manager' ? ' wrap()' : ' getOrSet()'}`,
        kind: 'anchor',
        getOrSet: (key, factory) => anchor.getOrSet(key, factory),
        close: () => anchor.close(),
        totalMs: [],
        factoryCalls: [],
      });
    }

    try {
      await interleave('f', subjects, sizes.runs, async (subject, round) => {
        const key = `stampede:${round}`;
        const value = makeValue(round);
        let calls = 0;
        const factory = async (): Promise<unknown> => {
          calls++;
          await delay(sizes.stampedeFactoryMs);
          return value;
        };
        const started = performance.now();
        const pending: Array<Promise<unknown>> = [];
        for (let i = 0; i < callers; i++) pending.push(subject.getOrSet(key, factory));
        const results = await Promise.all(pending);
        const totalMs = performance.now() - started;
        const wrong = results.filter(
          (result) => (result as { id?: number } | undefined)?.id !== round,
        ).length;
        if (wrong > 0)
          throw new Error(`${subject.label}: ${wrong} of ${callers} callers got another value`);
        if (round > 0) {
          subject.totalMs.push(totalMs);
          subject.factoryCalls.push(calls);
        }
        return `${totalMs.toFixed(1)} ms, ${calls} factory call(s)`;
      });
    } finally {
      for (const subject of subjects) await subject.close?.();
    }

    const rows: Row[] = settleRows(
      subjects.map((subject) => ({
        subject: subject.label,
        kind: subject.kind,
        runs: subject.totalMs,
        cells: {
          'factory calls (max)': String(Math.max(...subject.factoryCalls)),
          'factory calls (median)': String(median(subject.factoryCalls)),
        },
      })),
    );
    const oursSubject = subjects.find((s) => s.kind === 'ours')!;
    const bare = rows.find((row) => row.kind === 'limit')?.value;
    const oursMs = rows.find((row) => row.kind === 'ours')?.value;
    return [
      {
        id: 'f',
        title: this.title,
        setup: `${callers.toLocaleString('en-US')} concurrent calls for one missing key, factory ${sizes.stampedeFactoryMs} ms, a new key per run, ${sizes.runs} runs; time until every caller has the value`,
        metric: { label: 'total ms', higherIsBetter: false, format: 'ms' },
        rows,
        extraColumns: ['factory calls (max)', 'factory calls (median)'],
        targets: [
          target(
            'stampede: one factory run (most factory runs in any run)',
            Math.max(...oursSubject.factoryCalls),
            '==',
            1,
            `factory calls per run: ${oursSubject.factoryCalls.join(', ')}`,
          ),
          target(
            'stampede: total time <= 1.1x a bare Map<key, Promise> single-flight',
            oursMs !== undefined && bare !== undefined ? oursMs / bare : undefined,
            '<=',
            1.1,
            `ours ${oursMs?.toFixed(1) ?? 'n/a'} ms / bare ${bare?.toFixed(1) ?? 'n/a'} ms (medians)`,
          ),
        ],
      },
    ];
  },
};
