import 'reflect-metadata';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import { createKeyv as createRedisKeyv } from '@keyv/redis';
import { NestFactory } from '@nestjs/core';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import type { Cache } from 'cache-manager';
import { Cacheable, createKeyv as createMemoryKeyv } from 'cacheable';

/**
 * The caches a Nest user would pick instead of ours, behind one small interface, each set up as
 * its README shows for two tiers (in-process memory in front of Redis), called only through its
 * public API. TTL 5 minutes everywhere.
 */
export interface AnchorCache {
  readonly name: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  /** Read-through with the library's own stampede protection (or none, if it has none). */
  getOrSet(key: string, factory: () => Promise<unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/** Which anchor, and how it is configured. */
export type AnchorName = 'cache-manager' | 'cacheable' | 'bentocache';

export const ANCHOR_NAMES: readonly AnchorName[] = ['cache-manager', 'cacheable', 'bentocache'];

/** How each anchor appears in the tables. */
export const ANCHOR_LABELS: Record<AnchorName, string> = {
  'cache-manager': '@nestjs/cache-manager (cache-manager 7 + Keyv + @keyv/redis)',
  cacheable: 'cacheable (memory + @keyv/redis secondary)',
  bentocache: 'bentocache (memory L1 + ioredis L2)',
};

export interface AnchorSetup {
  /** `redis://127.0.0.1:PORT`; omitted: memory tier only (for the heap scenario). */
  redisUrl?: string;
  /** Key namespace in Redis, so anchors never see each other's keys. */
  namespace: string;
  /**
   * Most entries in the memory tier. @default 10_000, as our L1 (bentocache's own default, 1,000
   * items, would thrash on the 1,024 hot keys of the L1-hit loops)
   */
  l1Max?: number;
}

const TTL_MS = 5 * 60_000;
const DEFAULT_L1_MAX = 10_000;

type ResolvedSetup = AnchorSetup & { l1Max: number };

export async function createAnchor(name: AnchorName, options: AnchorSetup): Promise<AnchorCache> {
  const setup: ResolvedSetup = { ...options, l1Max: options.l1Max ?? DEFAULT_L1_MAX };
  switch (name) {
    case 'cache-manager':
      return createCacheManager(setup);
    case 'cacheable':
      return createCacheable(setup);
    case 'bentocache':
      return createBentocache(setup);
  }
}

/** cache-manager 7 as Nest users get it: `CacheModule.register({ stores })`, injected by CACHE_MANAGER. */
async function createCacheManager(setup: ResolvedSetup): Promise<AnchorCache> {
  const memory = createMemoryKeyv({ ttl: TTL_MS, lruSize: setup.l1Max });
  const stores = setup.redisUrl
    ? [memory, createRedisKeyv(setup.redisUrl, { namespace: setup.namespace })]
    : [memory];
  const app = await NestFactory.createApplicationContext(
    CacheModule.register({ stores, ttl: TTL_MS }),
    {
      logger: false,
    },
  );
  const cache = app.get<Cache>(CACHE_MANAGER);
  return {
    name: 'cache-manager',
    get: (key) => cache.get(key),
    set: (key, value) => cache.set(key, value, TTL_MS),
    getOrSet: (key, factory) => cache.wrap(key, factory, TTL_MS),
    close: async () => {
      await cache.disconnect();
      await app.close();
    },
  };
}

async function createCacheable(setup: ResolvedSetup): Promise<AnchorCache> {
  const primary = createMemoryKeyv({ ttl: TTL_MS, lruSize: setup.l1Max });
  const cache = new Cacheable({
    primary,
    ...(setup.redisUrl
      ? { secondary: createRedisKeyv(setup.redisUrl, { namespace: setup.namespace }) }
      : {}),
    ttl: TTL_MS,
  });
  return {
    name: 'cacheable',
    get: (key) => cache.get(key),
    set: (key, value) => cache.set(key, value, TTL_MS),
    getOrSet: (key, factory) => cache.getOrSet(key, factory, { ttl: TTL_MS }),
    close: () => cache.disconnect(),
  };
}

async function createBentocache(setup: ResolvedSetup): Promise<AnchorCache> {
  const store = bentostore().useL1Layer(memoryDriver({ maxItems: setup.l1Max }));
  if (setup.redisUrl) {
    const url = new URL(setup.redisUrl);
    store.useL2Layer(redisDriver({ connection: { host: url.hostname, port: Number(url.port) } }));
  }
  const bento = new BentoCache({
    default: 'cache',
    prefix: setup.namespace,
    ttl: TTL_MS,
    stores: { cache: store },
  });
  // Connects now rather than on the first measured call.
  await bento.has({ key: '__warm__' });
  return {
    name: 'bentocache',
    get: (key) => bento.get({ key }),
    set: (key, value) => bento.set({ key, value, ttl: TTL_MS }),
    getOrSet: (key, factory) => bento.getOrSet({ key, factory, ttl: TTL_MS }),
    close: () => bento.disconnectAll(),
  };
}
