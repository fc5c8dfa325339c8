import { LRUCache } from 'lru-cache';
import { freshLoop, median, type Op } from '../core/measure.js';
import {
  formatValue,
  type Row,
  type RowKind,
  type ScenarioReport,
  settleRows,
  target,
} from '../core/report.js';
import { interleave, type BenchContext } from '../core/scenario.js';
import { makeKeys, type BenchValue } from '../core/workload.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

/** The module's default `l1.max`: the lru-cache row holds as many entries as our L1 does. */
const L1_MAX = 10_000;

/** What a run of set() calls leaves to check once the loop is timed. */
interface CallInstance {
  op: Op;
  /** Untimed: drains and closes; returns a problem to note (e.g. writes dropped), if any. */
  close(): Promise<string | undefined>;
}

interface CallSubject {
  label: string;
  kind: RowKind;
  /** A fresh instance writing `keys` (untimed). */
  open(keys: readonly string[]): Promise<CallInstance>;
  runs: number[];
}

const SET_CALL_BASELINE = 'JSON.stringify + lru-cache set';
const SET_CALL_OURS = 'CacheService.set (ours)';

/**
 * (d-call) The cost of one `set()` call, apart from getting the value to Redis: `count` awaited
 * calls one at a time, each of a distinct key with the same values as (d), next to the least a
 * serializing in-process cache does per write (`JSON.stringify` of the value and an `lru-cache`
 * set of the string, awaited in the same loop). Ours runs with its default options; a second row
 * holds every write back (flushIntervalMs 60 s, batches and maxPending larger than the run), so
 * that no flush can land in the loop. The write-behind queue drains after the loop, untimed.
 */
export async function setCallCostReport(
  context: BenchContext,
  values: readonly BenchValue[],
  count: number,
): Promise<ScenarioReport> {
  const { sizes } = context.options;
  const notes: string[] = [];
  const ours = (label: string, holdWrites: boolean): CallSubject => ({
    label,
    kind: 'ours',
    runs: [],
    open: async (keys) => {
      await context.redis.cli('FLUSHALL');
      const app = await startOurCache(
        redisOptions(
          context.redisUrl,
          'bench-d-call',
          holdWrites
            ? {
                writeBehind: {
                  flushIntervalMs: 60_000,
                  maxBatchSize: 2 * count,
                  maxPending: 2 * count,
                },
              }
            : {},
        ),
      );
      const cache = app.cache;
      return {
        op: (i) => cache.set(keys[i]!, values[i]),
        close: async () => {
          const { dropped } = cache.stats();
          await cache.flush();
          await app.close();
          return dropped > 0 ? `${label} dropped ${dropped} writes in a run` : undefined;
        },
      };
    },
  });
  const subjects: CallSubject[] = [
    {
      label: SET_CALL_BASELINE,
      kind: 'raw',
      runs: [],
      open: async (keys) => {
        const lru = new LRUCache<string, string>({ max: L1_MAX });
        return {
          op: (i) => void lru.set(keys[i]!, JSON.stringify(values[i])),
          close: async () => undefined,
        };
      },
    },
    ours(SET_CALL_OURS, false),
    ours(`${SET_CALL_OURS}, writes held (no flush during the loop)`, true),
  ];

  const loops = new Map(subjects.map((subject) => [subject, freshLoop()]));
  await interleave('d-call', subjects, sizes.runs, async (subject, round) => {
    // The warm-up round makes a quarter of the calls: enough to warm the JIT.
    const keys = makeKeys(`d-call${round}-key-`, round === 0 ? Math.ceil(count / 4) : count);
    const instance = await subject.open(keys);
    let callsPerSec: number;
    try {
      const started = performance.now();
      await loops.get(subject)!(instance.op, 0, keys.length);
      callsPerSec = (keys.length / (performance.now() - started)) * 1000;
    } finally {
      const problem = await instance.close();
      if (problem !== undefined && round > 0) notes.push(problem);
    }
    if (round > 0) subject.runs.push(callsPerSec);
    return `${formatValue(callsPerSec, 'rate')} calls/s, ${ns(callsPerSec)} ns/call`;
  });

  const rows: Row[] = settleRows(
    subjects.map((subject) => ({
      subject: subject.label,
      kind: subject.kind,
      runs: subject.runs,
      cells: { 'ns/call': ns(median(subject.runs)) },
    })),
  );
  const baseline = rows.find((row) => row.subject === SET_CALL_BASELINE)?.value;
  const oursRate = rows.find((row) => row.subject === SET_CALL_OURS)?.value;
  return {
    id: 'd-call',
    title: 'set() call cost: awaited set() calls, next to JSON.stringify + an lru-cache set',
    setup: `${count.toLocaleString('en-US')} awaited calls one at a time per run, distinct keys, the values of (d); lru-cache max ${L1_MAX.toLocaleString('en-US')} like our default L1; a fresh instance per run, its writes drained after the timed loop; ${sizes.runs} runs`,
    metric: { label: 'set() calls/s', higherIsBetter: true, format: 'rate' },
    rows,
    extraColumns: ['ns/call'],
    notes,
    targets: [
      target(
        'set() call costs <= 1.5x JSON.stringify + an lru-cache set of the same values (cost ratio)',
        baseline !== undefined && oursRate !== undefined ? baseline / oursRate : undefined,
        '<=',
        1.5,
        `ours ${ns(oursRate)} ns / JSON.stringify + lru-cache set ${ns(baseline)} ns per call`,
      ),
    ],
  };
}

/** Nanoseconds per call at `rate` calls/s. */
function ns(rate: number | undefined): string {
  return rate !== undefined && Number.isFinite(rate) && rate > 0 ? (1e9 / rate).toFixed(0) : '-';
}
