import { CacheBatchError } from '../../errors/l2.errors.js';
import { CacheUnsendableWriteError } from '../../errors/l2.errors.js';
import { CacheL2Error } from '../../errors/l2.errors.js';
import type {
  L2Ensured,
  L2EnsureRequest,
  L2Locks,
  L2Read,
  L2Store,
  L2Write,
} from '../../contracts/l2-store.interface.js';
import { invalidSet } from '../l2-write.checks.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Milliseconds between two sweeps of expired entries. Reads never return an expired entry
   * whatever this is; the sweep only frees the memory of entries nobody reads again.
   * @default 30_000
   */
  sweepIntervalMs?: number;
  /** Most entries one sweep examines, so a large store never blocks the event loop. @default 10_000 */
  sweepBatchSize?: number;
  /**
   * Clock in epoch milliseconds, replaceable in tests: writes carry absolute expiries on it.
   * @default Date.now
   */
  now?: () => number;
}

interface Entry {
  readonly value: Buffer;
  /** Epoch milliseconds, on the `now()` clock. */
  readonly expiresAt: number;
}

/**
 * The embedded L2: an in-process Map with Redis semantics (a write replaces value and TTL, an
 * expired entry is a miss, deleting a missing key is fine). It lets an app, the sample app and
 * tests run with zero setup; it is not shared between processes.
 *
 * Values are copied in and out, so no caller can change what is stored by mutating a Buffer.
 * Expired entries are dropped when read, and by a sweep every `sweepIntervalMs` that examines at
 * most `sweepBatchSize` entries (resuming where it stopped) so that its cost stays bounded; its
 * timer is `unref()`ed and cleared by {@link close}.
 *
 * @example
 * const store = new MemoryStore();
 * await store.write([{ kind: 'set', key: 'k', value: Buffer.from('v'), expiresAt: Date.now() + 1_000 }]);
 */
export class MemoryStore implements L2Store {
  readonly description = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly sweepIntervalMs: number;
  private readonly sweepBatchSize: number;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Where the last sweep stopped. Map iterators stay valid across inserts and deletes. */
  private sweepCursor: Iterator<[string, Entry]> | undefined;
  private closed = false;

  /**
   * Single-flight locks, held in the same Map as entries (a lock key is just a key): in-process
   * semantics, as the store itself is per process.
   */
  readonly locks: L2Locks = {
    acquire: (key, token, leaseMs) =>
      this.run('lock', () => {
        const now = this.now();
        if (this.read(key, now) !== undefined) return false;
        this.entries.set(key, { value: Buffer.from(token), expiresAt: now + leaseMs });
        this.scheduleSweep();
        return true;
      }),
    renew: (key, token, leaseMs) =>
      this.run('lock renew', () => {
        if (!this.holds(key, token)) return false;
        this.entries.set(key, { value: Buffer.from(token), expiresAt: this.now() + leaseMs });
        return true;
      }),
    release: (key, token) =>
      this.run('lock release', () => {
        if (this.holds(key, token)) this.entries.delete(key);
      }),
  };

  constructor(options: MemoryStoreOptions = {}) {
    this.sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.sweepBatchSize = options.sweepBatchSize ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Entries held, including expired ones not yet swept. */
  get size(): number {
    return this.entries.size;
  }

  /** A copy of the value, or `undefined` when the key is missing or expired. */
  get(key: string): Promise<Buffer | undefined> {
    return this.run('get', () => this.read(key, this.now()));
  }

  /** Copies of the values in key order, `undefined` for each missing or expired key. */
  mget(keys: readonly string[]): Promise<L2Read[]> {
    return this.run(`mget of ${keys.length}`, () => {
      const now = this.now();
      return keys.map((key) => this.read(key, now));
    });
  }

  /**
   * Applies the writes in order. A set whose `expiresAt` is not a whole number >= 1 (which Redis
   * would refuse) or whose value is not bytes fails alone, with `CacheBatchError`; the others are
   * applied. A set whose `expiresAt` has passed deletes the key, as `PXAT` does in Redis.
   */
  write(writes: readonly L2Write[]): Promise<void> {
    return this.run(`write batch of ${writes.length}`, () => this.apply(writes));
  }

  /** Sets each key to its candidate unless it holds a value; answers what each holds then. */
  ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    return this.run(`ensure of ${requests.length}`, () => {
      const now = this.now();
      return requests.map(({ key, candidate, expiresAt }) => {
        const held = this.read(key, now);
        if (held !== undefined) return held.toString('utf8');
        this.apply([{ kind: 'set', key, value: Buffer.from(candidate), expiresAt }]);
        return candidate;
      });
    });
  }

  /** Deletes the keys; missing keys are fine. */
  del(keys: readonly string[]): Promise<void> {
    return this.run(`del of ${keys.length}`, () => {
      for (const key of keys) this.entries.delete(key);
    });
  }

  /** Stops the sweep and drops every entry. Calls made afterwards reject. */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepCursor = undefined;
    this.entries.clear();
    return Promise.resolve();
  }

  private apply(writes: readonly L2Write[]): void {
    const now = this.now();
    const failed: number[] = [];
    const problems: CacheUnsendableWriteError[] = [];
    writes.forEach((write, index) => {
      if (write.kind === 'del') {
        this.entries.delete(write.key);
        return;
      }
      const problem = invalidSet(write);
      if (problem !== undefined) {
        failed.push(index);
        problems.push(new CacheUnsendableWriteError(write.key, problem));
        return;
      }
      if (write.releases !== undefined) {
        // Ends a single-flight: applied only while its token holds the lock, which goes with it.
        if (!this.holds(write.releases.key, write.releases.token)) return;
        this.entries.delete(write.releases.key);
      }
      // NOTE: delete first so that a rewritten key moves to the end of the Map's order, where a
      // sweep in progress will still visit it.
      this.entries.delete(write.key);
      // Expired on the way: the key is gone, as with a past PXAT.
      if (write.expiresAt <= now) return;
      this.entries.set(write.key, { value: copyOf(write.value), expiresAt: write.expiresAt });
    });
    this.scheduleSweep();
    if (failed.length > 0) {
      throw new CacheBatchError(failed, { cause: problems[0], errors: problems });
    }
  }

  /**
   * Drops expired entries, examining at most `limit` of them and resuming where the previous call
   * stopped. Runs by itself on a timer; public for tests.
   * @returns how many entries were dropped.
   */
  sweep(limit: number = this.sweepBatchSize): number {
    const now = this.now();
    let examined = 0;
    let dropped = 0;
    this.sweepCursor ??= this.entries.entries();
    while (examined < limit) {
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = undefined;
        break;
      }
      examined++;
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        dropped++;
      }
    }
    if (this.entries.size === 0) {
      // Nothing left to expire: no timer until the next write.
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      this.sweepCursor = undefined;
    }
    return dropped;
  }

  private holds(lockKey: string, token: string): boolean {
    return this.read(lockKey, this.now())?.toString('utf8') === token;
  }

  private read(key: string, now: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return Buffer.from(entry.value);
  }

  private scheduleSweep(): void {
    if (this.sweepTimer !== undefined || this.entries.size === 0) return;
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    // A cache must never keep the process alive.
    this.sweepTimer.unref();
  }

  /** Runs `body` unless the store is closed; never throws synchronously, only rejects. */
  private run<T>(operation: string, body: () => T): Promise<T> {
    try {
      if (this.closed)
        throw new CacheL2Error(operation, `memory L2 store is closed (${operation})`);
      return Promise.resolve(body());
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

/**
 * A private copy of `bytes` with its own memory: `Buffer.from()` would place small values in
 * Node's shared 8 KiB pool, where one long-lived entry keeps the whole slab alive.
 */
function copyOf(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
