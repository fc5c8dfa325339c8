import { CacheBatchError } from '../../../lib/errors/l2.errors.js';
import { CacheL2TimeoutError } from '../../../lib/errors/l2.errors.js';
import { CacheShardUnavailableError } from '../../../lib/errors/l2.errors.js';
import { CacheCounters } from '../../../lib/events/cache-stats.js';
import type {
  L2Ensured,
  L2EnsureRequest,
  L2Write,
} from '../../../lib/contracts/l2-store.interface.js';
import type { BatchGuard } from '../../../lib/write-behind/flusher-ports.js';
import type { PendingSet, PendingWrite } from '../../../lib/write-behind/pending-write.js';
import {
  REASSERT_DELAY_MS,
  WriteBehindFlusher,
  type FlusherOptions,
  type FlusherSignal,
} from '../../../lib/write-behind/write-behind.flusher.js';
import { delay, waitFor } from '../../support/poll.js';

/** One call the flusher made, and how the test answers it. */
interface Call {
  readonly writes: readonly L2Write[];
  resolve(answers?: L2Ensured[]): void;
  reject(error: unknown): void;
}

/**
 * A WriteTarget the test answers by hand: every batch waits until the test resolves or rejects
 * it (or, in `auto` mode, is answered at once by `answer`).
 */
class ScriptedTarget {
  readonly calls: Call[] = [];
  /** Answers each call at once when set; return an error to reject. */
  auto: ((writes: readonly L2Write[]) => unknown) | undefined = () => undefined;

  write(writes: readonly L2Write[], ensure?: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    return new Promise((resolve, reject) => {
      const call: Call = {
        writes,
        resolve: (answers) => resolve(answers ?? (ensure ?? []).map((r) => r.candidate)),
        reject,
      };
      this.calls.push(call);
      if (this.auto === undefined) return;
      const outcome = this.auto(writes);
      if (outcome instanceof Error) call.reject(outcome);
      else call.resolve();
    });
  }

  ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    return Promise.resolve(requests.map((request) => request.candidate));
  }

  /** The values of every set sent, in order, as text. */
  setValues(): string[] {
    return this.calls.flatMap((call) =>
      call.writes.flatMap((write) => (write.kind === 'set' ? [write.value.toString()] : [])),
    );
  }

  /** Keys of every write sent, in order, as `set:key` / `del:key`. */
  sent(): string[] {
    return this.calls.flatMap((call) => call.writes.map((write) => `${write.kind}:${write.key}`));
  }
}

const OPTIONS: FlusherOptions = {
  flushIntervalMs: 5,
  maxBatchSize: 100,
  maxPending: 1_000,
  overflow: 'drop-oldest',
  retryBaseDelayMs: 20,
  retryMaxDelayMs: 40,
};

const flushers: WriteBehindFlusher[] = [];

function setup(
  options: Partial<FlusherOptions> = {},
  guard?: BatchGuard,
): { flusher: WriteBehindFlusher; target: ScriptedTarget; signals: FlusherSignal[] } {
  const target = new ScriptedTarget();
  const flusher = new WriteBehindFlusher(target, { ...OPTIONS, ...options }, new CacheCounters(), {
    guard,
  });
  const signals: FlusherSignal[] = [];
  flusher.signals$.subscribe((signal) => signals.push(signal));
  flushers.push(flusher);
  return { flusher, target, signals };
}

afterEach(async () => {
  await Promise.all(flushers.splice(0).map((flusher) => flusher.close(100)));
});

function set(flusher: WriteBehindFlusher, key: string, value = key): PendingSet {
  const write: PendingSet = {
    kind: 'set',
    key,
    payload: value,
    expiresAt: Date.now() + 60_000,
    seq: flusher.nextSeq(),
  };
  flusher.enqueue(write);
  return write;
}

describe('WriteBehindFlusher', () => {
  describe('enqueue()', () => {
    it('parks writes that failed alone with their own backoff, while the others keep landing', async () => {
      // A backoff long enough to tell "sent at once" from "sent after the backoff".
      const { flusher, target } = setup({ retryBaseDelayMs: 1_000, retryMaxDelayMs: 2_000 });
      const dead = new Set(['dead1', 'dead2']);
      const unavailable = new CacheShardUnavailableError('write', 'ERR Connection refused');
      target.auto = (writes) => {
        const failed = writes.flatMap((write, i) => (dead.has(write.key) ? [i] : []));
        return failed.length === 0
          ? undefined
          : new CacheBatchError(failed, { errors: failed.map(() => unavailable) });
      };
      set(flusher, 'dead1');
      set(flusher, 'live1');
      set(flusher, 'dead2');
      await waitFor(() => target.calls.length >= 1, { message: 'the first batch' });
      expect(flusher.pending).toBe(2); // the two dead-shard writes, parked
      const landedAt = performance.now();
      set(flusher, 'live2');
      await waitFor(() => target.sent().includes('set:live2'), { message: 'live2 to be sent' });
      // The live write went out at once, alone: the parked writes wait out their backoff.
      expect(performance.now() - landedAt).toBeLessThan(500);
      expect(target.calls.at(-1)!.writes.map((write) => write.key)).toEqual(['live2']);
      expect(flusher.pending).toBe(2);
      dead.clear();
      await flusher.flush(1_000);
      expect(flusher.pending).toBe(0);
      expect(target.sent().filter((key) => key === 'set:dead1').length).toBeGreaterThanOrEqual(2);
    });
  });

  describe("overflow 'drop-oldest': room for a new key", () => {
    it('drops the oldest write in flight when nothing older is queued, and deletes its key after its batch', async () => {
      const { flusher, target, signals } = setup({ maxPending: 3, maxBatchSize: 3 });
      target.auto = undefined; // batches hang until answered
      set(flusher, 'a');
      set(flusher, 'b');
      set(flusher, 'c');
      await waitFor(() => target.calls.length === 1, { message: 'the batch to be sent' });
      set(flusher, 'd'); // room for it: 'a' (in flight) is the oldest
      expect(flusher.pending).toBe(3);
      expect(
        signals.flatMap((s) => (s.type === 'dropped' ? [[s.write.key, s.reason]] : [])),
      ).toEqual([['a', 'overflow']]);
      target.calls[0]!.reject(new CacheL2TimeoutError('write batch of 3', 1_000));
      target.auto = () => undefined;
      await flusher.flush(1_000);
      // 'a' may still be applied by the server that timed out: a delete of it follows, and it is
      // never retried; 'b' and 'c' are.
      expect(target.sent().slice(3)).toEqual(
        expect.arrayContaining(['del:a', 'set:b', 'set:c', 'set:d']),
      );
      expect(target.sent().slice(3)).not.toContain('set:a');
    });

    it('never holds more than maxPending writes, counting parked and in-flight ones', async () => {
      const { flusher, target } = setup({ maxPending: 200, maxBatchSize: 50 });
      target.auto = undefined;
      let highest = 0;
      for (let i = 0; i < 1_000; i++) {
        set(flusher, `k${i}`);
        highest = Math.max(highest, flusher.pending);
        if (i % 50 === 0) await delay(1);
      }
      expect(highest).toBeLessThanOrEqual(200);
    });
  });

  describe('a drain keeps batches in flight', () => {
    /** Queues `count` writes `k<from>`..; the drain takes them in batches of maxBatchSize (100). */
    function setMany(flusher: WriteBehindFlusher, from: number, count: number): void {
      for (let i = from; i < from + count; i++) set(flusher, `k${i}`);
    }
    const keysOf = (call: Call): string[] => call.writes.map((write) => write.key);

    it('sends the next queued writes as soon as one batch lands, while the others are in flight', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      setMany(flusher, 0, 600);
      await waitFor(() => target.calls.length === 4, { message: 'four batches in flight' });
      await delay(20);
      expect(target.calls).toHaveLength(4); // no more than four at once
      target.calls[1]!.resolve();
      await waitFor(() => target.calls.length === 5, {
        message: 'a batch in place of the one landed',
      });
      expect(keysOf(target.calls[4]!)[0]).toBe('k400');
      for (const call of target.calls) call.resolve();
      target.auto = () => undefined;
      await flusher.flush(1_000);
      expect(new Set(target.sent())).toHaveProperty('size', 600);
    });

    it('keeps a flush waiting for the writes of a batch that failed as a whole, though the others landed', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      setMany(flusher, 0, 300);
      await waitFor(() => target.calls.length === 3, { message: 'three batches in flight' });
      const flushed = flusher.flush(2_000).then(() => 'flushed');
      target.calls[1]!.reject(new CacheL2TimeoutError('write batch of 100', 1_000));
      target.calls[0]!.resolve();
      target.calls[2]!.resolve();
      const early = await Promise.race([flushed, delay(100).then(() => 'waiting')]);
      expect(early).toBe('waiting');
      target.auto = () => undefined;
      for (const call of target.calls.slice(3)) call.resolve();
      await expect(flushed).resolves.toBe('flushed');
      expect(target.sent().filter((key) => key === 'set:k150')).toHaveLength(2);
      expect(flusher.pending).toBe(0);
    });

    it('never has a key in flight twice: its newer write waits until the older one settled', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      setMany(flusher, 0, 400);
      await waitFor(() => target.calls.length === 4, { message: 'four batches in flight' });
      set(flusher, 'k150', 'v2'); // k150 is in flight in the second batch
      setMany(flusher, 400, 50);
      target.calls[0]!.resolve();
      await delay(20);
      // The oldest queued write is k150's: nothing after it may overtake it either.
      expect(target.calls).toHaveLength(4);
      // The older write of k150 failed as a whole (timed out): only the newer one is sent after.
      target.calls[1]!.reject(new CacheL2TimeoutError('write batch of 100', 1_000));
      target.calls[2]!.resolve();
      target.calls[3]!.resolve();
      target.auto = () => undefined;
      await flusher.flush(1_000);
      const after = target.calls.slice(4).flatMap(keysOf);
      expect(after.filter((key) => key === 'k150')).toHaveLength(1);
      expect(after[0]).toBe('k100'); // the failed batch again, its older writes first
      const k150 = target.calls
        .slice(4)
        .flatMap((call) => call.writes)
        .find((w) => w.key === 'k150');
      expect(k150).toMatchObject({ kind: 'set', value: Buffer.from('v2') });
      expect(after).toContain('k449');
    });

    it('stops taking queued writes when a delete waits for its turn, which goes as soon as the batches in flight settle', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      setMany(flusher, 0, 800);
      await waitFor(() => target.calls.length === 4, { message: 'four batches in flight' });
      const deleted = flusher.writeNow(
        [{ kind: 'del', key: 'k700', seq: flusher.nextSeq() }],
        1_000,
      );
      for (let i = 0; i < 4; i++) target.calls[i]!.resolve();
      await waitFor(() => target.calls.length === 5, { message: 'the delete' });
      expect(target.sent().slice(400)).toEqual(['del:k700']);
      target.auto = () => undefined;
      target.calls[4]!.resolve();
      await deleted;
      await flusher.flush(1_000);
      expect(target.sent()).not.toContain('set:k700');
      expect(target.sent()).toContain('set:k799');
    });
  });

  describe('writeNow()', () => {
    it('answers within waitMs when L2 does not, and the write stays queued', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      const write: PendingWrite = { kind: 'del', key: 'k', seq: flusher.nextSeq() };
      const started = performance.now();
      await expect(flusher.writeNow([write], 50)).rejects.toBeInstanceOf(CacheL2TimeoutError);
      expect(performance.now() - started).toBeLessThan(150);
      expect(flusher.pending).toBe(1);
      target.calls[0]!.resolve();
      await flusher.flush(1_000);
      expect(flusher.pending).toBe(0);
    });
  });

  describe('re-assertion after a batch of unknown fate', () => {
    it("sends a key's next write once more after it lands, when an earlier write of the key timed out", async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      set(flusher, 'k', 'v1');
      await waitFor(() => target.calls.length === 1, { message: 'the first batch' });
      target.auto = () => undefined;
      flusher.enqueue({ kind: 'del', key: 'k', seq: flusher.nextSeq() });
      // v1's batch timed out: the server may still run it later.
      target.calls[0]!.reject(new CacheL2TimeoutError('write batch of 1', 1_000));
      await flusher.flush(1_000);
      const sentAfterDelete = target.sent().length;
      expect(target.sent().at(-1)).toBe('del:k');
      await waitFor(() => target.sent().length > sentAfterDelete, {
        timeoutMs: REASSERT_DELAY_MS * 4,
        message: 'the delete to be sent once more',
      });
      expect(target.sent().at(-1)).toBe('del:k');
    });

    it('never sends an older write again once a newer one of its key was queued', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      set(flusher, 'k', 'v1');
      await waitFor(() => target.calls.length === 1, { message: 'the first batch' });
      // v1 timed out (it may still run late) and goes again after the backoff; v2 waits for it.
      target.calls[0]!.reject(new CacheL2TimeoutError('write batch of 1', 1_000));
      await waitFor(() => target.calls.length === 2, { message: 'v1 sent again' });
      set(flusher, 'k', 'v2');
      target.auto = () => undefined;
      target.calls[1]!.resolve();
      await flusher.flush(1_000);
      await delay(REASSERT_DELAY_MS * 3);
      const values = target.setValues();
      expect(values.filter((v) => v === 'v1')).toHaveLength(2);
      expect(values.at(-1)).toBe('v2');
      expect(values.filter((v) => v === 'v2').length).toBeGreaterThanOrEqual(2); // re-asserted
    }, 10_000);

    it('hands a re-assertion not yet sent to a newer write of the key', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      set(flusher, 'k', 'v1');
      await waitFor(() => target.calls.length === 1, { message: 'the first batch' });
      target.auto = () => undefined;
      set(flusher, 'k', 'v2');
      target.calls[0]!.reject(new CacheL2TimeoutError('write batch of 1', 1_000));
      await flusher.flush(1_000);
      // v2 landed and is due to be sent again; v3 comes first: v1 may still land after v3 too.
      set(flusher, 'k', 'v3');
      await flusher.flush(1_000);
      const sends = (value: string): number =>
        target.setValues().filter((sent) => sent === value).length;
      await waitFor(() => sends('v3') === 2, {
        timeoutMs: REASSERT_DELAY_MS * 4,
        message: 'v3 sent again',
      });
      await delay(REASSERT_DELAY_MS * 2);
      expect(sends('v2')).toBe(1);
      expect(sends('v3')).toBe(2);
    });

    it('does not re-send a write that a newer one replaced meanwhile', async () => {
      const { flusher, target } = setup();
      target.auto = undefined;
      set(flusher, 'k', 'v1');
      await waitFor(() => target.calls.length === 1, { message: 'the first batch' });
      target.auto = () => undefined;
      flusher.enqueue({ kind: 'del', key: 'k', seq: flusher.nextSeq() });
      target.calls[0]!.reject(new CacheL2TimeoutError('write batch of 1', 1_000));
      await flusher.flush(1_000);
      set(flusher, 'k', 'v2');
      await flusher.flush(1_000);
      await delay(REASSERT_DELAY_MS * 2);
      expect(target.sent().filter((key) => key === 'del:k')).toHaveLength(1);
    });
  });
});
