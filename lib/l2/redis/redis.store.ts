import type { Redis } from 'ioredis';
import type { RedisL2Options } from '../../options/cache-options.interface.js';
import { createRedisClient, describeRedisTarget } from './redis-client.factory.js';
import { RedisClientStore, type RedisStoreOptions } from './redis-client.store.js';

export type { RedisStoreOptions } from './redis-client.store.js';

/**
 * The L2 store for one Redis server (`l2: { type: 'redis' }`). Values travel as Buffers both ways,
 * write batches go as Lua script calls of up to 1,000 writes (see write-script.ts), MGET and DEL are chunked by 1,000 keys; no timeouts or retries of
 * its own (the remote tier settles every call within `l2TimeoutMs`, and the client fails fast,
 * see redis-client.factory.ts). Every method is `async`, so none can throw synchronously.
 *
 * @example
 * const store = RedisStore.fromOptions({ type: 'redis', url: 'redis://127.0.0.1:6379' });
 * await store.connect();
 */
export class RedisStore extends RedisClientStore {
  /** WAIT goes to the server itself: batches can wait for its replicas. */
  override readonly confirmsReplicas = true;

  /** As {@link RedisClientStore}; batches go as script calls unless `scriptedWrites` is false. */
  constructor(client: Redis, description: string, options: RedisStoreOptions = {}) {
    super(client, description, { scriptedWrites: true, ...options });
  }

  /**
   * A store with its own client for `options` (not connected yet: call `connect()`).
   * @throws TypeError when `options.url` is not a URL (the options validator rejects it earlier).
   */
  static fromOptions(options: RedisL2Options, storeOptions: RedisStoreOptions = {}): RedisStore {
    return new RedisStore(createRedisClient(options), describeRedisTarget(options), storeOptions);
  }
}
