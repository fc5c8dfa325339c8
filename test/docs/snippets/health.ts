// #region health
import { Controller, Get, Module } from '@nestjs/common';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  TerminusModule,
} from '@nestjs/terminus';
import {
  DistributedCacheHealthIndicator,
  DistributedCacheHealthModule,
  DistributedCacheModule,
} from 'nestjs-distributed-cache';

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

@Module({
  imports: [
    DistributedCacheModule.forRoot({
      isGlobal: true,
      l2: { type: 'redis', url: process.env.REDIS_URL },
    }),
    DistributedCacheHealthModule.forRoot({ downAfterMs: 10_000 }),
    TerminusModule.forRoot(),
  ],
  controllers: [HealthController],
})
export class AppModule {}
// #endregion health
