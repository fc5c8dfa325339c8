import { Controller, Get } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { DistributedCacheHealthIndicator } from 'nestjs-distributed-cache/health';

/**
 * `GET /health`: 200 while the cache is healthy, 503 once L2 has been unreachable for
 * `downAfterMs` (one slow call never does it). The body lists L2, bus, queue and breaker.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cache: DistributedCacheHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cache.isHealthy('cache')]);
  }
}
