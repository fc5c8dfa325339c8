/**
 * The parts of a prom-client `Registry` the exporter uses. Any prom-client 15 `Registry` fits.
 *
 * NOTE: a structural type, not prom-client's own, so that the package's type declarations do not
 * import prom-client: an app without it installed still type-checks.
 */
export interface PrometheusRegistry {
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
  metrics(): Promise<string>;
  readonly contentType: string;
}

/**
 * Options of `DistributedCacheMetricsModule.forRoot()`.
 *
 * @example
 * DistributedCacheMetricsModule.forRoot({ registry: myRegistry, prefix: 'shop_cache_' })
 */
export interface CacheMetricsModuleOptions {
  /**
   * Register the Prometheus metrics (needs the optional peer `prom-client`). `false` provides only
   * `CacheMetricsService`, which needs no extra package.
   * @default true
   */
  prometheus?: boolean;
  /**
   * The prom-client registry to register the metrics in.
   * @default prom-client's global registry (`register`), the one most /metrics endpoints serve
   */
  registry?: PrometheusRegistry;
  /**
   * Prefix of every metric name. Must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
   * @default 'distributed_cache_'
   */
  prefix?: string;
  /** Make `CacheMetricsService` and `PrometheusCacheExporter` injectable everywhere. @default false */
  isGlobal?: boolean;
  /**
   * The cache to report: the `name` of a `DistributedCacheModule.forRoot({ name })`
   * registration. Register the module once per cache to report several; in one prom-client
   * registry they share the metrics, told apart by their `namespace` label (give each cache its
   * own namespace).
   * @default the default (unnamed) cache
   * @example 'sessions'
   */
  cache?: string;
  /**
   * Most `hot_key_reads` series exported (the top keys of the cache's `hotKeys` tracking; none
   * while it is off). Each is a label value: keep it small. @default 10
   */
  hotKeySeries?: number;
}

/** Injection token of the metrics module's validated options. Internal. */
export const CACHE_METRICS_OPTIONS = Symbol('distributed-cache:metrics-options');

/** Options after validation and defaults. Internal. */
export interface ResolvedCacheMetricsOptions {
  /** `undefined`: the default cache. */
  readonly cache: string | undefined;
  readonly prometheus: boolean;
  readonly registry: PrometheusRegistry | undefined;
  readonly prefix: string;
  readonly hotKeySeries: number;
}
