import type { InvalidationOptions, L2Options } from './cache-options.interface.js';
import type { CacheSerializer } from '../serialization/serializer.interface.js';

/** Options after validation and defaults: every duration in milliseconds. Internal. */
export interface ResolvedCacheOptions {
  readonly namespace: string;
  readonly ttlMs: number;
  readonly l1: false | { readonly max: number; readonly maxBytes: number; readonly ttlMs: number };
  readonly l2: L2Options;
  readonly writeBehind: {
    readonly enabled: boolean;
    readonly flushIntervalMs: number;
    readonly maxBatchSize: number;
    readonly maxPending: number;
    readonly overflow: 'drop-oldest' | 'reject';
    readonly shutdownTimeoutMs: number;
    readonly retryBaseDelayMs: number;
    readonly retryMaxDelayMs: number;
    readonly replicas: number;
    readonly replicaTimeoutMs: number;
  };
  readonly invalidation: Readonly<InvalidationOptions> & {
    readonly enabled: boolean;
    readonly channel: string;
  };
  readonly serializer: CacheSerializer;
  readonly l2TimeoutMs: number;
  readonly circuitBreaker:
    false | { readonly failureThreshold: number; readonly cooldownMs: number };
  readonly maxKeyLength: number;
  readonly maxValueBytes: number;
  readonly lock: { readonly leaseMs: number; readonly waitMs: number };
  /** `false`, or OpenTelemetry spans with these settings. */
  readonly tracing: false | { readonly recordKeys: boolean };
  /** `false`, or hot-key tracking with these settings. */
  readonly hotKeys: false | { readonly capacity: number; readonly sampleEvery: number };
}
