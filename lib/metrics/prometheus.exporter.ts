import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CacheOptionsError } from '../errors/cache.errors.js';
import { CacheMetricsService } from './cache-metrics.service.js';
import {
  CACHE_METRICS_OPTIONS,
  type PrometheusRegistry,
  type ResolvedCacheMetricsOptions,
} from './metrics-options.interface.js';
import { loadPromClient } from './prometheus.loader.js';
import { type CacheMetricsRegistration, registerCacheMetrics } from './prometheus.metrics.js';

/** A scrape: the body and content type to answer `GET /metrics` with. */
export interface PrometheusScrape {
  /** prom-client's content type, e.g. `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** The registry's metrics in the Prometheus text format. */
  readonly body: string;
}

/**
 * Registers the cache's metrics (`distributed_cache_*`, each with a `namespace` label) in a
 * prom-client registry when the application starts, and removes them when it closes. Values are
 * read from the cache at scrape time, so nothing is counted twice and reads cost nothing extra.
 *
 * prom-client is loaded on start-up with a dynamic import: it is an optional peer dependency,
 * needed only by apps that import `DistributedCacheMetricsModule` with `prometheus` on.
 *
 * @example
 * @Get('metrics')
 * async metrics(@Res() res: Response) {
 *   const { contentType, body } = await this.exporter.scrape();
 *   res.type(contentType).send(body);
 * }
 */
@Injectable()
export class PrometheusCacheExporter implements OnModuleInit, OnModuleDestroy {
  private registration: CacheMetricsRegistration | undefined;
  private target: PrometheusRegistry | undefined;

  constructor(
    @Inject(CACHE_METRICS_OPTIONS) private readonly options: ResolvedCacheMetricsOptions,
    private readonly metrics: CacheMetricsService,
  ) {}

  /** @throws CacheOptionalDependencyError when prom-client is not installed. */
  async onModuleInit(): Promise<void> {
    if (!this.options.prometheus) return;
    const prom = await loadPromClient();
    this.target = this.options.registry ?? prom.register;
    this.registration = registerCacheMetrics(prom, this.target, this.options.prefix, () =>
      this.metrics.snapshot(),
    );
  }

  onModuleDestroy(): void {
    this.registration?.unregister();
    this.registration = undefined;
  }

  /** The registry the metrics are in (`undefined` before start-up or with `prometheus: false`). */
  get registry(): PrometheusRegistry | undefined {
    return this.target;
  }

  /**
   * The whole registry in the Prometheus text format (the cache's metrics and any others in it).
   * @throws CacheOptionsError when the module was registered with `prometheus: false`.
   */
  async scrape(): Promise<PrometheusScrape> {
    if (this.target === undefined) {
      throw new CacheOptionsError('prometheus', 'Prometheus export is off (prometheus: false)');
    }
    return { contentType: this.target.contentType, body: await this.target.metrics() };
  }
}
