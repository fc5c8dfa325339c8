import type { Redis } from 'ioredis';
import type { CacheEvent } from 'nestjs-distributed-cache';
import { adminClient, countExisting, startReplicatedRedis } from '../core/bench-servers.js';
import { concatLatencies, median, percentile, runConcurrent } from '../core/measure.js';
import { formatValue, type Row, settleRows } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';
import { makeKeys, makeValues, type BenchValue } from '../core/workload.js';
import { redisOptions, startOurCache } from '../subjects/our-cache.subject.js';

const CONCURRENCY = 100;
const NAMESPACE = 'bench-l';
/** `writeBehind.replicaTimeoutMs` of the replicas-1 row (the default). */
const REPLICA_TIMEOUT_MS = 500;
/** Keys of the last batch, checked on the replica the moment flush() resolves. */
const LAST_KEYS = 1_000;

/** What one run measured. */
interface ReplicaRun {
  /** Seconds until every set() call had resolved. */
  resolvedSeconds: number;
  /** Seconds until flush() resolved: every value acknowledged (with replicas 1: by the replica). */
  durableSeconds: number;
  /** stats() of the run's instance (a new one per run). */
  batches: number;
  flushDurationMsTotal: number;
  replicaConfirmedBatches: number;
  replicaTimeouts: number;
  replicaWaitMsTotal: number;
  /** Of the last {@link LAST_KEYS} keys, those on the replica right when flush() resolved. */
  lastOnReplica: number;
  /** Keys found afterwards on the master, and on the replica. */
  readBackMaster: number;
  readBackReplica: number;
  /**
   * Milliseconds from each set() call to the `flush` event of the batch that carried it, by
   * call index; `undefined` when the events could not be matched to the calls (see the note).
   */
  confirmLatenciesMs: Float64Array | undefined;
}

interface ReplicaSubject {
  label: string;
  replicas: 0 | 1;
  results: ReplicaRun[];
}

/**
 * The time from each set() call to its write being acknowledged, from the `flush` events alone
 * (they carry a count, not the keys): the queue holds one write per key and sends its oldest
 * writes first, batch after batch on one serial lane, so with distinct keys and no failure the
 * k-th write acknowledged is the k-th set() called. Returns the tracker; `result()` gives
 * `undefined` when the counts do not add up to the calls (a retry or drop broke the order).
 */
function confirmTracker(total: number): {
  calledAt: Float64Array;
  onEvent(event: CacheEvent): void;
  result(failures: number): Float64Array | undefined;
} {
  const calledAt = new Float64Array(total);
  const latencies = new Float64Array(total);
  let confirmed = 0;
  let overflow = false;
  return {
    calledAt,
    onEvent(event) {
      if (event.type !== 'flush') return;
      const now = performance.now();
      const end = confirmed + event.count;
      if (end > total) overflow = true;
      for (let i = confirmed; i < Math.min(end, total); i++) latencies[i] = now - calledAt[i]!;
      confirmed = end;
    },
    result(failures) {
      return !overflow && failures === 0 && confirmed === total ? latencies : undefined;
    },
  };
}

/**
 * (l) Issue 15: the cost of `writeBehind.replicas: 1` (WAIT after every batch, one batch in
 * flight) against `replicas: 0`, both on a master that has a replica of its own, started here.
 * Durable sets as in (d), each row with a new instance per run.
 */
export const replicaSetsScenario: Scenario = {
  id: 'l',
  title: 'Durable sets with writeBehind.replicas 0 and 1 (master with one replica)',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const total = sizes.durableSets;
    const values: BenchValue[] = makeValues(total);
    const subjects: ReplicaSubject[] = [0, 1].map((replicas) => ({
      label: `CacheService.set, write-behind, replicas: ${replicas}`,
      replicas: replicas as 0 | 1,
      results: [],
    }));
    // The warm-up round writes a quarter of the keys: enough to warm the JIT and the servers.
    const keysOf = (round: number): string[] =>
      makeKeys(`l${round}-key-`, round === 0 ? Math.ceil(total / 4) : total);

    const servers = await startReplicatedRedis();
    let master: Redis | undefined;
    let replica: Redis | undefined;
    try {
      const masterClient = (master = adminClient(servers.master.port));
      const replicaClient = (replica = adminClient(servers.replica.port));
      await interleave(
        'l',
        subjects,
        sizes.runs,
        async (subject, round) => {
          // FLUSHALL reaches the replica too: WAIT for it, so no run starts with the replica behind.
          await servers.master.cli('FLUSHALL');
          await masterClient.wait(1, 5_000);
          const keys = keysOf(round);
          const result = await runOnce(subject, keys, values, servers.master.url, {
            master: masterClient,
            replica: replicaClient,
          });
          if (round > 0) subject.results.push(result);
          return (
            `${formatValue(keys.length / result.durableSeconds, 'rate')} sets/s, durable in ${result.durableSeconds.toFixed(3)} s, ` +
            `${result.batches} batches, flush ${formatValue(result.flushDurationMsTotal / result.batches, 'ms')} ms/batch` +
            (subject.replicas > 0
              ? `, WAIT ${formatValue(result.replicaWaitMsTotal / result.replicaConfirmedBatches, 'ms')} ms/batch, ${result.replicaTimeouts} timeouts`
              : '') +
            `, last ${LAST_KEYS} on replica at flush() ${result.lastOnReplica}, read back ${result.readBackMaster}/${result.readBackReplica} of ${keys.length}`
          );
        },
        { alternate: true },
      );
    } finally {
      master?.disconnect();
      replica?.disconnect();
      await servers.stop();
    }

    const medianOf = (subject: ReplicaSubject, pick: (run: ReplicaRun) => number): number =>
      median(subject.results.map(pick));
    const [zero, one] = subjects as [ReplicaSubject, ReplicaSubject];
    const zeroSeconds = medianOf(zero, (r) => r.durableSeconds);
    const oneSeconds = medianOf(one, (r) => r.durableSeconds);
    const ratio = oneSeconds / zeroSeconds;
    const batches = medianOf(one, (r) => r.batches);
    const perBatchExtra = ((oneSeconds - zeroSeconds) * 1000) / batches;
    const waitPerBatch = medianOf(one, (r) => r.replicaWaitMsTotal / r.replicaConfirmedBatches);
    const latencyOf = (subject: ReplicaSubject): Float64Array | undefined => {
      const runs = subject.results.map((r) => r.confirmLatenciesMs);
      return runs.every((run) => run !== undefined) && runs.length > 0
        ? concatLatencies(runs)
        : undefined;
    };
    const rows: Row[] = settleRows(
      subjects.map((subject) => {
        const latencies = latencyOf(subject);
        const waits = subject.replicas > 0;
        return {
          subject: subject.label,
          kind: 'ours',
          runs: subject.results.map((r) => total / r.durableSeconds),
          ...(latencies
            ? { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) }
            : {}),
          cells: {
            'durable s': medianOf(subject, (r) => r.durableSeconds).toFixed(3),
            'set() resolved s': medianOf(subject, (r) => r.resolvedSeconds).toFixed(3),
            'time vs replicas 0':
              subject === zero
                ? '1.00x'
                : `${(medianOf(subject, (r) => r.durableSeconds) / zeroSeconds).toFixed(2)}x`,
            batches: String(medianOf(subject, (r) => r.batches)),
            'flush ms/batch': formatValue(
              medianOf(subject, (r) => r.flushDurationMsTotal / r.batches),
              'ms',
            ),
            'WAIT ms/batch': waits
              ? formatValue(
                  medianOf(subject, (r) => r.replicaWaitMsTotal / r.replicaConfirmedBatches),
                  'ms',
                )
              : '-',
            'WAIT timeouts': waits
              ? String(subject.results.reduce((n, r) => n + r.replicaTimeouts, 0))
              : '-',
            'last batch on replica': `${Math.min(...subject.results.map((r) => r.lastOnReplica))}/${Math.min(LAST_KEYS, total)}`,
            'read back master/replica': `${Math.min(...subject.results.map((r) => r.readBackMaster))}/${Math.min(...subject.results.map((r) => r.readBackReplica))}`,
          },
        };
      }),
    );
    const unmatched = subjects.filter((subject) => latencyOf(subject) === undefined);
    return [
      {
        id: 'l',
        title: this.title,
        setup:
          `${total.toLocaleString('en-US')} sets of distinct ~200-byte values, 100 in flight, timed until flush() resolves, ` +
          `on a redis-server master with one replica (both started for this scenario; replicaTimeoutMs ${REPLICA_TIMEOUT_MS}); a new instance per run, ` +
          `FLUSHALL (and WAIT for the replica) between runs; ${sizes.runs} runs per row, alternating order; ` +
          'p50/p99: from each set() call to the flush event of its batch, over all runs',
        metric: { label: 'durable sets/s', higherIsBetter: true, format: 'rate' },
        rows,
        latency: true,
        extraColumns: [
          'durable s',
          'set() resolved s',
          'time vs replicas 0',
          'batches',
          'flush ms/batch',
          'WAIT ms/batch',
          'WAIT timeouts',
          'last batch on replica',
          'read back master/replica',
        ],
        notes: [
          `replicas: 1 takes ${ratio.toFixed(2)}x the time of replicas: 0 for the same ${total.toLocaleString('en-US')} durable sets (${oneSeconds.toFixed(3)} s / ${zeroSeconds.toFixed(3)} s, medians)`,
          'both rows write to the same master, whose replica gets every write in both; only replicas: 1 waits for it (WAIT 1 after each batch, on a write connection of its own) and sends one batch at a time, where replicas: 0 sends up to 4 batches of 1,000 at once',
          'flush ms/batch: stats() flushDurationMsTotal / batches, from a send to its acknowledgement (WAIT included with replicas: 1; with replicas: 0 each of the up to 4 batches of a send is timed to the end of the send); WAIT ms/batch: replicaWaitMsTotal / replicaConfirmedBatches (medians over runs)',
          `extra time of replicas: 1 per batch: ${perBatchExtra.toFixed(2)} ms ((${oneSeconds.toFixed(3)} - ${zeroSeconds.toFixed(3)}) s / ${batches} batches), of which WAIT ${waitPerBatch.toFixed(2)} ms; the rest is the overlap lost with one batch in flight instead of 4. WAIT answers once the replica has received and applied the batch and acknowledged it (REPLCONF GETACK/ACK), so it includes the replica's work on the batch, not just a loopback round trip`,
          'p50/p99 (set() to its batch acknowledged) are mostly queueing: 100 in flight call set() faster than batches go out (set() resolved vs durable s), so a write waits for the batches ahead of it; with replicas: 0 the up to 4 batches of a send are acknowledged together',
          `last batch on replica: EXISTS of the last ${LAST_KEYS.toLocaleString('en-US')} keys on the replica, sent as flush() resolves (replicas: 1 guarantees them all; with replicas: 0 what is missing there could be lost by a failover at that moment); read back: every key looked up on the master and on the replica afterwards, lowest over runs`,
          ...(unmatched.length > 0
            ? [
                `no p50/p99 for ${unmatched.map((s) => `replicas: ${s.replicas}`).join(', ')}: the flush events did not add up to the set() calls in some run (a retry or a drop), so they cannot be matched to the calls`,
              ]
            : []),
        ],
        targets: [],
      },
    ];
  },
};

/** One run of one row: a new instance, `keys.length` sets at 100 in flight, flush(), checks. */
async function runOnce(
  subject: ReplicaSubject,
  keys: readonly string[],
  values: readonly BenchValue[],
  masterUrl: string,
  clients: { master: Redis; replica: Redis },
): Promise<ReplicaRun> {
  const ours = await startOurCache(
    redisOptions(masterUrl, NAMESPACE, {
      writeBehind:
        subject.replicas === 0
          ? { replicas: 0 }
          : { replicas: subject.replicas, replicaTimeoutMs: REPLICA_TIMEOUT_MS },
    }),
  );
  const tracker = confirmTracker(keys.length);
  const subscription = ours.cache.events$.subscribe((event) => tracker.onEvent(event));
  try {
    const cache = ours.cache;
    const { calledAt } = tracker;
    const started = performance.now();
    await runConcurrent(
      (i) => {
        calledAt[i] = performance.now();
        return cache.set(keys[i]!, values[i]);
      },
      keys.length,
      CONCURRENCY,
    );
    const resolved = performance.now();
    await cache.flush();
    const durable = performance.now();
    const prefixed = keys.map((key) => `${NAMESPACE}:${key}`);
    const lastOnReplica = await clients.replica.exists(...prefixed.slice(-LAST_KEYS));
    const stats = cache.stats();
    if (stats.dropped > 0) throw new Error(`ours dropped ${stats.dropped} writes (maxPending)`);
    return {
      resolvedSeconds: (resolved - started) / 1000,
      durableSeconds: (durable - started) / 1000,
      batches: stats.batches,
      flushDurationMsTotal: stats.flushDurationMsTotal,
      replicaConfirmedBatches: stats.replicaConfirmedBatches,
      replicaTimeouts: stats.replicaTimeouts,
      replicaWaitMsTotal: stats.replicaWaitMsTotal,
      lastOnReplica,
      readBackMaster: await countExisting(clients.master, prefixed),
      readBackReplica: await countExisting(clients.replica, prefixed),
      confirmLatenciesMs: tracker.result(stats.retries + stats.dropped),
    };
  } finally {
    subscription.unsubscribe();
    await ours.close();
  }
}
