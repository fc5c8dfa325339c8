import type { L2Read } from '../contracts/l2-store.interface.js';
import type { RemoteTier } from './remote-tier.js';
import { cacheChannels } from '../tracing/cache-channels.js';
import { traced } from '../tracing/traced.js';

const l2ReadStarts = cacheChannels.l2Read.start;

interface Waiter {
  readonly keys: readonly string[];
  resolve(values: L2Read[]): void;
  reject(error: unknown): void;
}

/**
 * Reads per L2 `mget` at most: the reads of a tick beyond it leave as several calls of about equal
 * size, in flight together, so that this process decodes one call's answers while Redis reads the
 * next. At 100 in flight, against one call of 99 reads: this build faster in 4 of 4 alternating
 * pairs with the one before (`profile-target.ts l2-get`, 7.4-8.2 against 7.8-8.8 µs of CPU per
 * read); a prototype that split distinct keys the same way, in 7 of 7 more, in 4 of 4 runs of
 * `npm run bench` (c100) and in 7 of 9 of its topology gets. Caps of 25, 34 and 50 alike.
 */
const MAX_READS_PER_CALL = 50;

/**
 * Coalesces the L2 reads issued in one tick into L2 `mget` calls. Under concurrency this turns N
 * round trips into a few: 100 requests missing L1 at once cost three MGETs (the first leaves
 * alone, the 99 others in two), not 100 GETs. A key that several reads of a tick ask for first (a
 * hot key) is fetched once, and the namespace version key that every read carries once per call.
 * Answers are per key: a key whose shard is down fails for its caller alone.
 *
 * A read made while no batch is in flight leaves at once: nothing else waits, so waiting a tick
 * for company would only add latency (the one-request-at-a-time path). Reads made while a batch
 * is in flight gather and leave on `process.nextTick`, which runs after the promise jobs queued by
 * the current batch's answers, so callers that immediately read again join the next batch without
 * waiting for a timer; more than {@link MAX_READS_PER_CALL} of them leave as several calls. A
 * DataLoader-style batcher, written here because it must share the remote tier's timeout and
 * circuit breaker.
 */
export class ReadBatcher {
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** L2 calls sent and not yet answered. */
  private inFlight = 0;

  /** @param namespace for the `l2Read` tracing channel */
  constructor(
    private readonly remote: RemoteTier,
    private readonly namespace = '',
  ) {}

  mget(keys: readonly string[]): Promise<L2Read[]> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ keys, resolve, reject });
      // Nothing else waits for L2: send now, without waiting a tick for company (a lone read
      // would only pay for the wait). Otherwise gather this tick's reads into one batch.
      if (this.inFlight === 0 && !this.scheduled) this.dispatch();
      else if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(() => this.dispatch());
      }
    });
  }

  private dispatch(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) {
      this.scheduled = false;
      return;
    }
    this.waiters = [];
    this.scheduled = false;
    if (waiters.length <= MAX_READS_PER_CALL) {
      this.send(waiters);
      return;
    }
    const calls = Math.ceil(waiters.length / MAX_READS_PER_CALL);
    for (const part of splitReads(waiters, Math.ceil(waiters.length / calls))) this.send(part);
  }

  /** One L2 call for the keys of `waiters`, each key asked for once. */
  private send(waiters: readonly Waiter[]): void {
    const position = new Map<string, number>();
    const unique: string[] = [];
    for (const waiter of waiters) {
      for (const key of waiter.keys) {
        if (position.has(key)) continue;
        position.set(key, unique.length);
        unique.push(key);
      }
    }
    // One call: the store chunks it and splits it per shard or node in one round trip.
    this.inFlight++;
    const reading = l2ReadStarts.hasSubscribers
      ? traced(
          cacheChannels.l2Read,
          { operation: 'l2Read', namespace: this.namespace, size: unique.length },
          () => this.remote.mget(unique),
        )
      : this.remote.mget(unique);
    reading.then(
      (answers) => {
        this.inFlight--;
        for (const waiter of waiters) {
          waiter.resolve(waiter.keys.map((key) => answers[position.get(key)!]));
        }
      },
      (error: unknown) => {
        this.inFlight--;
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}

/**
 * `waiters` in parts of about `size` reads, in order; a read whose first key an earlier read of the
 * tick asked for first joins that read's part, so that a hot key is fetched once.
 */
function splitReads(waiters: readonly Waiter[], size: number): Waiter[][] {
  const parts: Waiter[][] = [];
  const partOf = new Map<string, Waiter[]>();
  let current: Waiter[] = [];
  for (const waiter of waiters) {
    const first = waiter.keys[0];
    const joined = first === undefined ? undefined : partOf.get(first);
    if (joined !== undefined) {
      joined.push(waiter);
      continue;
    }
    if (current.length >= size) {
      parts.push(current);
      current = [];
    }
    current.push(waiter);
    if (first !== undefined) partOf.set(first, current);
  }
  parts.push(current);
  return parts;
}
