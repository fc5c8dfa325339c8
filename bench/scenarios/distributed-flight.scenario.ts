import { concatLatencies, delay, median, percentile } from '../core/measure.js';
import { formatValue, type Row, settleRows, target } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeValue } from '../core/workload.js';
import { type OurCache, redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

/** One row: a number of instances and of callers, with or without the distributed lock. */
interface FlightSubject {
  label: string;
  instances: number;
  callers: number;
  lock: boolean;
  /** Origin (factory) calls of each measured run, over all instances. */
  originCalls: number[];
  /** Milliseconds from each caller's getOrSet call to its value, one array per measured run. */
  latencies: Float64Array[];
  /** `stats().lockWaits` added up over the instances, per measured run. */
  lockWaits: number[];
  /** `stats().lockFallbacks` added up over the instances and the measured runs. */
  fallbacks: number;
}

/** The lock counters of all instances, added up. */
function lockCounters(apps: readonly OurCache[]): { waits: number; fallbacks: number } {
  let waits = 0;
  let fallbacks = 0;
  for (const app of apps) {
    const stats = app.cache.stats();
    waits += stats.lockWaits;
    fallbacks += stats.lockFallbacks;
  }
  return { waits, fallbacks };
}

function plural(count: number, word: string): string {
  return `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * (k) Distributed single-flight (issue 14): several instances of our cache (Nest apps in this
 * process, each with its own connections, one namespace, on the same Redis) get concurrent
 * getOrSet calls for one missing key whose origin takes 50 ms, with and without `lock: true`.
 * Counts origin calls over all instances and times every caller until it has the value.
 */
export const distributedFlightScenario: Scenario = {
  id: 'k',
  title: 'Distributed single-flight: instances × concurrent callers of one missing key',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const factoryMs = sizes.flightFactoryMs;
    const subjects: FlightSubject[] = [];
    for (const instances of sizes.flightInstances) {
      for (const callers of sizes.flightCallers) {
        for (const lock of [false, true]) {
          subjects.push({
            label: `${plural(instances, 'instance')} × ${plural(callers, 'caller')}, ${lock ? 'lock: true' : 'without lock'}`,
            instances,
            callers,
            lock,
            originCalls: [],
            latencies: [],
            lockWaits: [],
            fallbacks: 0,
          });
        }
      }
    }

    // All the instances stay up for the whole scenario; a row with N instances calls the first N.
    const apps: OurCache[] = [];
    try {
      const options = redisOptions(context.redisUrl, 'bench-k');
      for (let i = 0; i < Math.max(...sizes.flightInstances); i++) {
        apps.push(await startOurCache(options));
      }

      await interleave('k', subjects, sizes.runs, async (subject, round) => {
        // A new key per row and run: missing in every instance's L1 and in L2.
        const key = `flight:${subject.instances}x${subject.callers}:${subject.lock ? 'lock' : 'plain'}:${round}`;
        const value = makeValue(round);
        let calls = 0;
        const factory = async (): Promise<unknown> => {
          calls++;
          await delay(factoryMs);
          return value;
        };
        const options = subject.lock ? { lock: true } : {};
        const before = lockCounters(apps);
        const latenciesMs = new Float64Array(subject.callers);
        const pending: Array<Promise<unknown>> = [];
        for (let i = 0; i < subject.callers; i++) {
          // Round-robin: 1,000 callers over 4 instances are 250 on each.
          const app = apps[i % subject.instances]!;
          const started = performance.now();
          pending.push(
            app.cache.getOrSet(key, factory, options).then((result) => {
              latenciesMs[i] = performance.now() - started;
              return result;
            }),
          );
        }
        const results = await Promise.all(pending);
        const after = lockCounters(apps);
        const wrong = results.filter(
          (result) => (result as { id?: number } | undefined)?.id !== round,
        ).length;
        if (wrong > 0) {
          throw new Error(
            `${subject.label}: ${wrong} of ${subject.callers} callers got another value`,
          );
        }
        if (round > 0) {
          subject.originCalls.push(calls);
          subject.latencies.push(latenciesMs);
          subject.lockWaits.push(after.waits - before.waits);
          subject.fallbacks += after.fallbacks - before.fallbacks;
        }
        return `${calls} origin call(s), p99 ${formatValue(percentile(latenciesMs, 99), 'ms')} ms`;
      });
    } finally {
      for (const app of apps) await app.close();
    }

    const p99Of = (subject: FlightSubject): number =>
      percentile(concatLatencies(subject.latencies), 99);
    const withoutLock = (subject: FlightSubject): FlightSubject =>
      subjects.find(
        (s) => !s.lock && s.instances === subject.instances && s.callers === subject.callers,
      )!;
    const rows: Row[] = settleRows(
      subjects.map((subject) => {
        const all = concatLatencies(subject.latencies);
        const p99Cost = subject.lock ? p99Of(subject) - p99Of(withoutLock(subject)) : undefined;
        return {
          subject: subject.label,
          kind: 'ours',
          runs: subject.originCalls,
          p50Ms: percentile(all, 50),
          p99Ms: percentile(all, 99),
          cells: {
            'lock waits (median)': subject.lock ? String(median(subject.lockWaits)) : '',
            'lock fallbacks': subject.lock ? String(subject.fallbacks) : '',
            'p99 vs without lock':
              p99Cost === undefined
                ? ''
                : `${p99Cost >= 0 ? '+' : '-'}${formatValue(Math.abs(p99Cost), 'ms')} ms`,
          },
        };
      }),
    );

    const locked = subjects.filter((subject) => subject.lock);
    const mostCalls = Math.max(...locked.flatMap((subject) => subject.originCalls));
    const costs = locked.map((subject) => ({
      subject,
      cost: p99Of(subject) - p99Of(withoutLock(subject)),
    }));
    const worst = costs.reduce((a, b) => (b.cost > a.cost ? b : a));
    const busiest = subjects.find(
      (s) =>
        !s.lock &&
        s.instances === Math.max(...sizes.flightInstances) &&
        s.callers === Math.max(...sizes.flightCallers),
    )!;
    return [
      {
        id: 'k',
        title: this.title,
        setup:
          `${plural(apps.length, 'instance')} of our cache in one process (own connections, one ` +
          `namespace, same Redis); per row, the callers call getOrSet of one missing key at once, ` +
          `origin ${factoryMs} ms, a new key per run, ${sizes.runs} runs; origin calls over all ` +
          'instances per run, p50/p99 of every caller (call to value) over all runs',
        metric: { label: 'origin calls', higherIsBetter: false, format: 'count' },
        rows,
        latency: true,
        extraColumns: ['lock waits (median)', 'lock fallbacks', 'p99 vs without lock'],
        notes: [
          `callers are the concurrent calls in all, spread round-robin over the instances (1,000 over 4 = 250 each); 1 caller asks one instance only, so its rows at 2 and 4 instances measure what 1 instance does (with the others idle on the bus)`,
          `without lock every instance asked runs the origin once (in-process single-flight), e.g. ${median(busiest.originCalls)} origin calls at ${busiest.label.replace(/, without lock$/, '')}; with lock one instance takes the key's lock, the others wait (lock waits = instances asked - 1) and are woken by the bus when the value lands`,
          `latency cost of the lock: p99 ${costs.map(({ subject, cost }) => `${subject.instances}×${subject.callers} ${cost >= 0 ? '+' : '-'}${formatValue(Math.abs(cost), 'ms')}`).join(', ')} ms vs without lock (largest at ${worst.subject.label.replace(/, lock: true$/, '')}); the holder pays one more Redis round trip (SET NX PX) and the waiters one bus hop plus an L2 read`,
        ],
        targets: [
          target(
            'distributed single-flight: one origin call with lock for every instances × callers (most origin calls in any run)',
            mostCalls,
            '==',
            1,
            `${locked.map((s) => `${s.instances}×${s.callers}: ${Math.max(...s.originCalls)}`).join(', ')}; lock fallbacks ${locked.reduce((n, s) => n + s.fallbacks, 0)}`,
          ),
        ],
      },
    ];
  },
};
