import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { percentile } from '../core/measure.js';
import { formatValue, type Row, type RowKind, target } from '../core/report.js';
import { interleave, reason, type BenchContext, type Scenario } from '../core/scenario.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

const KEYS = 64;
const DEADLINE_MS = 2_000;

/** Two instances of one cache sharing a Redis: A writes, B reads. */
interface Pair {
  set(key: string, value: { v: number }): Promise<unknown>;
  /** B's read; must come from B's L1 while B holds the key. */
  get(key: string): Promise<{ v: number } | undefined | null>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

interface PropagationSubject {
  label: string;
  kind: RowKind;
  open(): Promise<Pair>;
  delaysMs: number[];
  lost: number;
  unavailable?: string;
}

/**
 * (i) Invalidation propagation: instance A sets a key that instance B holds in L1; the delay is
 * from A's `set()` call to the first read on B that returns the new value (B polls its own get,
 * yielding to the event loop between reads). Two Nest apps in one process, each with its own
 * connections, on the same Redis, default settings (write-behind every 20 ms).
 */
export const invalidationScenario: Scenario = {
  id: 'i',
  title: 'Invalidation propagation between two instances',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const updates = sizes.invalidationUpdates;
    const url = new URL(context.redisUrl);
    const connection = { host: url.hostname, port: Number(url.port) };

    const ours = (label: string, writeBehind: boolean): PropagationSubject => ({
      label,
      kind: 'ours',
      delaysMs: [],
      lost: 0,
      open: async () => {
        const options = redisOptions(context.redisUrl, `bench-i-${writeBehind ? 'wb' : 'wt'}`, {
          ...(writeBehind ? {} : { writeBehind: { enabled: false } }),
        });
        const a = await startOurCache(options);
        const b = await startOurCache(options);
        return {
          set: (key, value) => a.cache.set(key, value),
          get: (key) => b.cache.get<{ v: number }>(key),
          settle: () => a.cache.flush(),
          close: async () => {
            await a.close();
            await b.close();
          },
        };
      },
    });
    const subjects: PropagationSubject[] = [
      ours('ours, write-behind (default, flushIntervalMs 20)', true),
      ours('ours, write-through (writeBehind.enabled: false)', false),
      {
        label: 'bentocache, memory L1 + Redis L2 + Redis bus',
        kind: 'anchor',
        delaysMs: [],
        lost: 0,
        open: async () => {
          const make = (): BentoCache<{ cache: ReturnType<typeof bentostore> }> =>
            new BentoCache({
              default: 'cache',
              prefix: 'bench-i-bento',
              stores: {
                cache: bentostore()
                  .useL1Layer(memoryDriver({ maxItems: 10_000 }))
                  .useL2Layer(redisDriver({ connection }))
                  .useBus(redisBusDriver({ connection })),
              },
            });
          const a = make();
          const b = make();
          await a.has({ key: '__warm__' });
          await b.has({ key: '__warm__' });
          return {
            set: (key, value) => a.set({ key, value, ttl: '5m' }),
            get: (key) => b.get<{ v: number } | undefined>({ key }),
            settle: async () => {},
            close: async () => {
              await a.disconnectAll();
              await b.disconnectAll();
            },
          };
        },
      },
    ];

    const keys = Array.from({ length: KEYS }, (_, i) => `inv:${i}`);
    // One subject at a time (each runs all its updates); the pairs stay open for the whole run.
    await interleave(
      'i',
      subjects,
      1,
      async (subject) => {
        let pair: Pair;
        try {
          pair = await subject.open();
        } catch (error: unknown) {
          subject.unavailable = reason(error);
          return `not available: ${subject.unavailable}`;
        }
        try {
          for (const key of keys) await pair.set(key, { v: 0 });
          await pair.settle();
          for (const key of keys) await waitFor(pair, key, 0);
          for (let u = 1; u <= updates; u++) {
            const key = keys[u % KEYS]!;
            const previous = u - KEYS > 0 ? u - KEYS : 0;
            // B holds the previous version in L1 (its last read filled it).
            const held = await pair.get(key);
            if (held?.v !== previous)
              throw new Error(
                `B read v${String(held?.v)} of ${key} before update ${u}, expected v${previous}`,
              );
            const started = performance.now();
            await pair.set(key, { v: u });
            const seenAt = await waitFor(pair, key, u);
            if (seenAt === undefined) subject.lost++;
            else subject.delaysMs.push(seenAt - started);
          }
        } finally {
          await pair.close();
        }
        const p50 = percentile(subject.delaysMs, 50);
        const p99 = percentile(subject.delaysMs, 99);
        return `${updates} updates: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ${subject.lost} not seen within ${DEADLINE_MS} ms`;
      },
      { warmUp: false },
    );

    const rows: Row[] = subjects.map((subject) =>
      subject.unavailable !== undefined
        ? { subject: subject.label, kind: subject.kind, unavailable: subject.unavailable }
        : {
            subject: subject.label,
            kind: subject.kind,
            value: percentile(subject.delaysMs, 50),
            p50Ms: percentile(subject.delaysMs, 50),
            p99Ms: percentile(subject.delaysMs, 99),
            cells: {
              'p99 ms': formatValue(percentile(subject.delaysMs, 99), 'ms'),
              'max ms': formatValue(Math.max(...subject.delaysMs), 'ms'),
              'not seen': `${subject.lost}/${updates}`,
            },
          },
    );
    const defaults = subjects[0]!;
    const p99 = defaults.delaysMs.length > 0 ? percentile(defaults.delaysMs, 99) : undefined;
    return [
      {
        id: 'i',
        title: this.title,
        setup: `${updates.toLocaleString('en-US')} sequential updates over ${KEYS} keys: A.set(), then B polls its own get until it returns the new value (deadline ${DEADLINE_MS} ms); two apps in one process on the same Redis`,
        metric: {
          label: 'p50 ms',
          higherIsBetter: false,
          format: 'ms',
          aggregate: 'of all updates',
        },
        rows,
        extraColumns: ['p99 ms', 'max ms', 'not seen'],
        notes: [
          'the write-behind floor is flushIntervalMs (20 ms by default): A batches the write before it lands and is announced',
        ],
        targets: [
          target(
            'invalidation propagation p99 < 50 ms with default settings (ms)',
            p99,
            '<',
            50,
            `p50 ${formatValue(percentile(defaults.delaysMs, 50), 'ms')} ms, p99 ${formatValue(p99, 'ms')} ms over ${defaults.delaysMs.length} updates, ${defaults.lost} not seen`,
          ),
        ],
      },
    ];
  },
};

/** Polls B until it reads version `v` of `key`; the time it did, or undefined after the deadline. */
async function waitFor(pair: Pair, key: string, v: number): Promise<number | undefined> {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const value = await pair.get(key);
    const now = performance.now();
    if (value?.v === v) return now;
    if (now > deadline) return undefined;
    await yieldToLoop();
  }
}
