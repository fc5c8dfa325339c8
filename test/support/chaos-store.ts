import type {
  L2Ensured,
  L2EnsureRequest,
  L2Locks,
  L2Read,
  L2Store,
  L2Write,
} from '../../lib/contracts/l2-store.interface.js';

/**
 * Wraps a real L2Store and injects faults into it: calls that fail, or that hang until released.
 * It also records every write batch that reached the inner store, in order, so tests can check
 * what was sent (coalescing, ordering, TTLs). Behaviour comes from the wrapped store.
 */
export class ChaosStore implements L2Store {
  /** Every batch handed to the inner store, in the order it was applied. */
  readonly batches: L2Write[][] = [];
  /** Every `mget` that reached the inner store, as its key lists. */
  readonly reads: Array<readonly string[]> = [];
  private failures = 0;
  private failingForever = false;
  private stalled: Array<() => void> = [];
  private stalling = false;
  private heldWrites: Array<() => void> | undefined;

  /** The inner store's locks, with the same faults as every other call. */
  readonly locks: L2Locks | undefined;

  constructor(readonly inner: L2Store) {
    const locks = inner.locks;
    this.locks =
      locks === undefined
        ? undefined
        : {
            acquire: (key, token, leaseMs) => this.around(() => locks.acquire(key, token, leaseMs)),
            renew: (key, token, leaseMs) => this.around(() => locks.renew(key, token, leaseMs)),
            release: (key, token) => this.around(() => locks.release(key, token)),
            ...(locks.colocated === undefined
              ? {}
              : { colocated: () => this.around(() => locks.colocated!()) }),
          };
  }

  get description(): string {
    return `chaos(${this.inner.description})`;
  }

  /** The next `count` calls reject. */
  failNext(count: number): void {
    this.failures += count;
  }

  /** Every call rejects until `recover()`. */
  failAlways(): void {
    this.failingForever = true;
  }

  /** Calls hang (like a SIGSTOPped server) until `recover()`. */
  stall(): void {
    this.stalling = true;
  }

  /** Write batches wait (reads still pass) until `releaseWrites()`: a write slow to land. */
  holdWrites(): void {
    this.heldWrites ??= [];
  }

  releaseWrites(): void {
    const waiting = this.heldWrites ?? [];
    this.heldWrites = undefined;
    for (const release of waiting) release();
  }

  recover(): void {
    this.failingForever = false;
    this.failures = 0;
    this.stalling = false;
    const waiting = this.stalled;
    this.stalled = [];
    for (const release of waiting) release();
  }

  /** All keys written with a `set`, in order, flattened over batches. */
  writtenKeys(): string[] {
    return this.batches.flat().map((write) => `${write.kind}:${write.key}`);
  }

  async connect(): Promise<void> {
    await this.inner.connect?.();
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.around(() => this.inner.get(key));
  }

  mget(keys: readonly string[]): Promise<L2Read[]> {
    return this.around(() => {
      this.reads.push([...keys]);
      return this.inner.mget(keys);
    });
  }

  write(writes: readonly L2Write[]): Promise<void> {
    return this.around(async () => {
      const held = this.heldWrites;
      if (held !== undefined) await new Promise<void>((resolve) => held.push(resolve));
      this.batches.push([...writes]);
      await this.inner.write(writes);
    });
  }

  del(keys: readonly string[]): Promise<void> {
    return this.around(() => this.inner.del(keys));
  }

  /**
   * Stalls and fails with the store (`stall`, `failAlways`), but does not use up `failNext`: the
   * cache checks its version keys beside each write batch, and `failNext(n)` is meant for the
   * calls a test counts (reads, batches).
   */
  async ensure(requests: readonly L2EnsureRequest[]): Promise<L2Ensured[]> {
    if (this.stalling) await new Promise<void>((resolve) => this.stalled.push(resolve));
    if (this.failingForever) throw new Error('chaos: L2 is down');
    return this.inner.ensure!(requests);
  }

  close(): Promise<void> {
    this.recover();
    this.releaseWrites();
    return this.inner.close();
  }

  private async around<T>(call: () => Promise<T>): Promise<T> {
    if (this.stalling) await new Promise<void>((resolve) => this.stalled.push(resolve));
    if (this.failingForever) throw new Error('chaos: L2 is down');
    if (this.failures > 0) {
      this.failures--;
      throw new Error('chaos: injected failure');
    }
    return call();
  }
}
