import type { Duration } from './duration.js';

/**
 * Every default of the module options, in one place (the `@default` of each option in
 * cache-options.interface.ts says the same, and a unit test holds them together). The validator
 * fills in from here, and the option names it accepts are these keys (plus the few options that
 * have no default: see {@link OPTIONS_WITHOUT_DEFAULT}).
 */
export const DEFAULT_OPTIONS = {
  namespace: 'cache',
  ttl: '5m' as Duration,
  l1: { max: 10_000, maxBytes: 64 * 1024 * 1024, ttl: '30s' as Duration },
  l2: { type: 'memory' },
  writeBehind: {
    enabled: true,
    flushIntervalMs: 20,
    maxBatchSize: 1_000,
    maxPending: 100_000,
    overflow: 'drop-oldest' as 'drop-oldest' | 'reject',
    shutdownTimeoutMs: 10_000,
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 2_000,
    replicas: 0,
    replicaTimeoutMs: 500,
  },
  /** `enabled` defaults to whether L2 is Redis; `channel` to `${namespace}:invalidate`. */
  invalidation: {},
  serializer: 'json',
  l2TimeoutMs: 250,
  circuitBreaker: { failureThreshold: 5, cooldownMs: 1_000 },
  maxKeyLength: 1_024,
  maxValueBytes: 8 * 1024 * 1024,
  lock: { leaseMs: 30_000 as Duration, waitMs: 10_000 as Duration },
  /** Off unless given: `true` means `{ recordKeys: false }`. */
  tracing: { recordKeys: false },
  /** Off unless given: `true` means these. */
  hotKeys: { capacity: 100, sampleEvery: 10 },
} as const;

/** Options that have no default value, by where they sit (`''`: the top level). */
const OPTIONS_WITHOUT_DEFAULT: Readonly<Record<string, readonly string[]>> = {
  '': ['isGlobal', 'name'],
  invalidation: ['enabled', 'url', 'redis', 'channel'],
};

/** The option names accepted at `path` (`''`, `'l1'`, `'writeBehind'`, ...). */
export function optionNames(path: keyof typeof DEFAULT_OPTIONS | ''): string[] {
  const defaults: object = path === '' ? DEFAULT_OPTIONS : DEFAULT_OPTIONS[path];
  return [...Object.keys(defaults), ...(OPTIONS_WITHOUT_DEFAULT[path] ?? [])];
}
