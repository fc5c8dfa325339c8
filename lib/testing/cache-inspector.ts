import type { CacheService } from '../cache.service.js';
import { CacheError } from '../errors/cache.errors.js';
import { ABSENT_VERSION, namespaceVersionKey, tagVersionKey } from '../keys/version-keys.js';
import type { L2Store } from '../contracts/l2-store.interface.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';
import { decodeEnvelope } from '../serialization/entry-envelope.js';
import { TestingMemoryStore } from './testing-memory.store.js';

/** One entry as the L2 of a `forTest()` cache holds it, decoded. */
export interface StoredCacheEntry<T = unknown> {
  /** The key as the application wrote it (without the namespace prefix). */
  readonly key: string;
  /** The value, decoded with the cache's serializer (a fresh copy on every call). */
  readonly value: T;
  /** Epoch milliseconds after which `get()` misses (the TTL given to `set`, or the module's). */
  readonly freshUntil: number;
  /**
   * Epoch milliseconds at which L2 drops the entry: `freshUntil` plus any
   * `staleWhileRevalidate`/`grace` window.
   */
  readonly expiresAt: number;
  /** Tags the entry was set with (decorator namespaces appear as `distributed-cache:namespace:<ns>`). */
  readonly tags: readonly string[];
}

/** Options of {@link CacheInspector.entries} and {@link CacheInspector.entry}. */
export interface InspectOptions {
  /**
   * Also return entries past their TTL that L2 keeps for `staleWhileRevalidate` or `grace`
   * (`get()` misses them; `getOrSet` with those options may serve them).
   * @default false
   */
  includeStale?: boolean;
}

/**
 * Shows a test what a `DistributedCacheModule.forTest()` cache stores: the entries its L2 holds,
 * decoded, as a `get()` would see them there (expired entries and entries dropped by `clear()` or
 * `invalidateTags()` are left out).
 *
 * Every method first waits for the write-behind queue to drain (`CacheService.flush()`), so what
 * it reports includes every `set` made before the call: tests need no sleeps.
 *
 * Inject it by class for the default cache, or with `getCacheInspectorToken(name)` for
 * `forTest({ name })`.
 *
 * @example
 * const moduleRef = await Test.createTestingModule({
 *   imports: [DistributedCacheModule.forTest()],
 *   providers: [ProductsService, ProductRepository],
 * }).compile();
 * await moduleRef.init();
 * await moduleRef.get(ProductsService).findOne('1');
 * expect(await moduleRef.get(CacheInspector).keys()).toEqual(['product:1']);
 */
export class CacheInspector {
  private readonly prefix: string;

  /** Built by `DistributedCacheModule.forTest()`; not meant to be constructed by hand. */
  constructor(
    /** The `CacheService` whose storage this inspector shows. */
    readonly cache: CacheService,
    private readonly options: ResolvedCacheOptions,
    private readonly store: L2Store,
  ) {
    if (!(store instanceof TestingMemoryStore)) {
      throw new CacheError(
        'CacheInspector works on the L2 of DistributedCacheModule.forTest() only ' +
          `(this cache's L2 is ${store.description})`,
      );
    }
    this.prefix = `${options.namespace}:`;
  }

  /** The cache's namespace (the prefix of every key in L2). */
  get namespace(): string {
    return this.options.namespace;
  }

  /** Every stored entry, in key order. */
  async entries<T = unknown>(options: InspectOptions = {}): Promise<Array<StoredCacheEntry<T>>> {
    await this.cache.flush();
    const raw = await (this.store as TestingMemoryStore).snapshot(this.prefix);
    const versions = this.versionReader();
    const out: Array<StoredCacheEntry<T>> = [];
    for (const [fullKey, bytes] of raw) {
      const entry = await this.decode<T>(fullKey, bytes, versions, options);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  /** The keys of every stored entry, in order. */
  async keys(): Promise<string[]> {
    return (await this.entries()).map((entry) => entry.key);
  }

  /** Whether `key` is stored (and a `get()` reaching L2 would find it). */
  async has(key: string): Promise<boolean> {
    return (await this.entry(key)) !== undefined;
  }

  /**
   * The stored value of `key`, decoded, or `undefined`. Unlike `CacheService.get()` it counts no
   * hit or miss, fills no L1 and reads L2 only, so it shows what other instances would read.
   */
  async peek<T = unknown>(key: string): Promise<T | undefined> {
    return (await this.entry<T>(key))?.value;
  }

  /** The stored entry of `key` with its expiry and tags, or `undefined`. */
  async entry<T = unknown>(
    key: string,
    options: InspectOptions = {},
  ): Promise<StoredCacheEntry<T> | undefined> {
    await this.cache.flush();
    const fullKey = this.prefix + key;
    const bytes = await this.store.get(fullKey);
    if (bytes === undefined) return undefined;
    return this.decode<T>(fullKey, bytes, this.versionReader(), options);
  }

  /**
   * Decodes one L2 value; `undefined` when it expired or its version stamp is out of date
   * (the same checks a read makes: see tiering/version-registry.ts).
   */
  private async decode<T>(
    fullKey: string,
    bytes: Buffer,
    versions: (key: string) => Promise<string>,
    options: InspectOptions,
  ): Promise<StoredCacheEntry<T> | undefined> {
    const envelope = decodeEnvelope(fullKey, bytes);
    const now = Date.now();
    if (envelope.expiresAt <= now) return undefined;
    const meta = envelope.meta ?? {};
    const freshUntil = typeof meta['f'] === 'number' ? meta['f'] : envelope.expiresAt;
    if (freshUntil <= now && options.includeStale !== true) return undefined;
    const generation = typeof meta['g'] === 'string' ? meta['g'] : ABSENT_VERSION;
    if (generation !== (await versions(namespaceVersionKey(this.options.namespace)))) {
      return undefined;
    }
    const tagTokens = (meta['t'] ?? {}) as Readonly<Record<string, string>>;
    for (const [tag, token] of Object.entries(tagTokens)) {
      if (token !== (await versions(tagVersionKey(this.options.namespace, tag)))) return undefined;
    }
    return {
      key: fullKey.slice(this.prefix.length),
      value: this.options.serializer.deserialize(envelope.payload) as T,
      freshUntil,
      expiresAt: envelope.expiresAt,
      tags: Object.keys(tagTokens),
    };
  }

  /** Reads version tokens from L2, each once per call. */
  private versionReader(): (key: string) => Promise<string> {
    const read = new Map<string, Promise<string>>();
    return (key: string) => {
      let token = read.get(key);
      if (token === undefined) {
        token = this.store
          .get(key)
          .then((raw) => (raw === undefined ? ABSENT_VERSION : raw.toString('utf8')));
        read.set(key, token);
      }
      return token;
    };
  }
}
