import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { LOGGER_CONTEXT } from '../cache.constants.js';
import { CacheError } from '../errors/cache.errors.js';
import { resolveCacheInternals } from '../metrics/cache-internals.js';
import { type CacheHealthReport, CacheHealthMonitor } from './cache-health.monitor.js';
import {
  CACHE_HEALTH_OPTIONS,
  type ResolvedCacheHealthOptions,
} from './health-options.interface.js';
import { probeKeyOf, probeL2 } from './l2-probe.js';

/**
 * What {@link DistributedCacheHealthIndicator.isHealthy} resolves to: the shape of a
 * `@nestjs/terminus` `HealthIndicatorResult`, `{ [key]: { status: 'up' | 'down', ...details } }`.
 */
export type CacheHealthIndicatorResult<Key extends string = string> = Record<
  Key,
  CacheHealthReport
>;

/**
 * A `@nestjs/terminus` health indicator for the cache: L2 reachability (background key round
 * trips, never PING), the invalidation bus connection, the write-behind queue against
 * `maxPending`, and the circuit breaker state. It reports "down" only when L2 has been
 * unreachable for `downAfterMs` (or the queue stayed full that long), never on one slow call.
 *
 * It imports nothing from terminus (the result is a plain object terminus understands), so
 * terminus stays an optional peer: the indicator also works on its own through {@link report}.
 *
 * @example
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.cacheHealth.isHealthy('cache')]);
 * }
 */
@Injectable()
export class DistributedCacheHealthIndicator
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy
{
  private monitor: CacheHealthMonitor | undefined;
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(
    @Inject(CACHE_HEALTH_OPTIONS) private readonly options: ResolvedCacheHealthOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** @throws CacheModuleMissingError when the application has no `DistributedCacheModule`. */
  onModuleInit(): void {
    const { service, options, store, bus } = resolveCacheInternals(
      this.moduleRef,
      'DistributedCacheHealthModule',
      this.options.cache,
    );
    const probeKey = probeKeyOf(options.namespace, randomUUID());
    this.monitor = new CacheHealthMonitor(
      {
        namespace: options.namespace,
        probe: () => probeL2(store, probeKey, this.options.probeTimeoutMs),
        queue: () => ({
          pending: service.stats().pending,
          maxPending: options.writeBehind.maxPending,
        }),
        busConnected: () => (bus === null ? null : bus.connected),
        breaker: () => service.stats().breaker,
        replicas: () => {
          if (options.writeBehind.replicas === 0) return null;
          const stats = service.stats();
          return {
            required: options.writeBehind.replicas,
            confirmed: stats.replicaConfirmedBatches,
            timeouts: stats.replicaTimeouts,
          };
        },
      },
      this.options,
      Date.now,
      (report) => {
        if (report.status === 'down') {
          this.logger.warn(`Cache health is down: ${report.reasons.join('; ')}`);
        } else {
          this.logger.log('Cache health is up again');
        }
      },
    );
  }

  /** Probing starts once every module is initialised (L2 is connected by then). */
  onApplicationBootstrap(): void {
    this.monitor?.start();
  }

  /** Stops probing before the cache closes its connections. */
  onModuleDestroy(): void {
    this.monitor?.stop();
  }

  /**
   * The terminus result under `key`: `{ [key]: { status, reasons, l2, bus, queue, breaker } }`.
   * Answers at once (probes run in the background).
   * @param key the name under which terminus lists the cache @default 'cache'
   */
  isHealthy<Key extends string = 'cache'>(
    key: Key = 'cache' as Key,
  ): Promise<CacheHealthIndicatorResult<Key>> {
    return Promise.resolve({ [key]: this.report() } as CacheHealthIndicatorResult<Key>);
  }

  /** The health now, without terminus. */
  report(): CacheHealthReport {
    if (this.monitor === undefined) {
      throw new CacheError(
        'DistributedCacheHealthIndicator.report() was called before the application initialised',
      );
    }
    return this.monitor.report();
  }

  /** Runs one L2 probe now and waits for it (tests, or a deploy step that wants a fresh answer). */
  async probe(): Promise<void> {
    await this.monitor?.probeNow();
  }
}
