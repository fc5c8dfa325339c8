import type { CacheCounters } from '../events/cache-stats.js';
import type { LocalTier } from '../l1/local-tier.js';
import type { ResolvedCacheOptions } from '../options/resolved-options.js';
import type { CacheReporter } from './cache-reporter.js';
import type { EntryCodec } from './entry-codec.js';
import type { InFlightReads } from './in-flight-reads.js';
import type { VersionRegistry } from './version-registry.js';

/**
 * What the read path and the write path share, built once by the orchestrator (TieredCache): L1,
 * the version registry, the codec, the reporter, and the marks of reads in flight (a local write
 * marks a read of its key dirty, so the read's older answer does not refill L1).
 */
export interface TierParts {
  readonly options: ResolvedCacheOptions;
  /** Namespace prefix of every data key in L2 (`${namespace}:`). */
  readonly prefix: string;
  readonly l1: LocalTier | undefined;
  readonly versions: VersionRegistry;
  readonly codec: EntryCodec;
  readonly report: CacheReporter;
  readonly reads: InFlightReads;
  readonly counters: CacheCounters;
}
