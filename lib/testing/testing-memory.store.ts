import type { L2Write } from '../contracts/l2-store.interface.js';
import { MemoryStore } from '../l2/memory/memory.store.js';

/**
 * The L2 of `DistributedCacheModule.forTest()`: the embedded {@link MemoryStore}, unchanged, plus
 * a record of the keys written to it so that `CacheInspector` can list what it holds.
 *
 * Why a subclass and not a flag on `MemoryStore`: listing keys is something only tests need, and
 * the production store stays a plain Map with Redis semantics. The record may name keys that
 * have since expired; {@link snapshot} reads each one back, so it never reports an expired entry.
 * @internal
 */
export class TestingMemoryStore extends MemoryStore {
  private readonly written = new Set<string>();

  override write(writes: readonly L2Write[]): Promise<void> {
    for (const write of writes) {
      if (write.kind === 'set') this.written.add(write.key);
      else this.written.delete(write.key);
    }
    return super.write(writes);
  }

  override del(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.written.delete(key);
    return super.del(keys);
  }

  override close(): Promise<void> {
    this.written.clear();
    return super.close();
  }

  /**
   * Every live key (not expired) whose name starts with `prefix`, with its raw value, in key
   * order. Keys found expired are forgotten.
   */
  async snapshot(prefix: string): Promise<Map<string, Buffer>> {
    const keys = [...this.written].filter((key) => key.startsWith(prefix)).sort();
    const values = await this.mget(keys);
    const out = new Map<string, Buffer>();
    keys.forEach((key, i) => {
      const value = values[i];
      if (value === undefined) this.written.delete(key);
      else if (!(value instanceof Error)) out.set(key, value);
    });
    return out;
  }
}
