import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import {
  type CacheHealthModuleOptions,
  DistributedCacheHealthModule,
} from 'nestjs-distributed-cache/health';
import {
  type CacheMetricsModuleOptions,
  DistributedCacheMetricsModule,
} from 'nestjs-distributed-cache/metrics';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';

/** Options of {@link ObservabilityModule.forRoot}; tests shorten the health thresholds. */
export interface ObservabilityOptions {
  metrics?: CacheMetricsModuleOptions;
  health?: CacheHealthModuleOptions;
}

/** `/metrics` (Prometheus, via prom-client) and `/health` (terminus) for the sample app. */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [
        TerminusModule.forRoot(),
        DistributedCacheMetricsModule.forRoot(options.metrics),
        DistributedCacheHealthModule.forRoot(options.health),
      ],
      controllers: [MetricsController, HealthController],
    };
  }
}

/** The sample's health settings from the environment (defaults of the library otherwise). */
export function healthOptionsFromEnv(env: NodeJS.ProcessEnv): CacheHealthModuleOptions {
  const downAfterMs = env['HEALTH_DOWN_AFTER_MS'];
  return downAfterMs ? { downAfterMs: Number(downAfterMs) } : {};
}
