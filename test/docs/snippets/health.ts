// #region health
import { Controller, Get, Module } from '@nestjs/common';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  TerminusModule,
} from '@nestjs/terminus';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import {
  DistributedCacheHealthIndicator,
  DistributedCacheHealthModule,
} from 'nestjs-distributed-cache/health';

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
