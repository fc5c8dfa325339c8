// #region metrics
import { Controller, Get, Header, Module } from '@nestjs/common';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
import {
  DistributedCacheMetricsModule,
  PrometheusCacheExporter,
} from 'nestjs-distributed-cache/metrics';

@Controller()
export class MetricsController {
  constructor(private readonly exporter: PrometheusCacheExporter) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return (await this.exporter.scrape()).body; // the whole registry, your own metrics included
  }
}

@Module({
  imports: [
    DistributedCacheModule.forRoot({ isGlobal: true, namespace: 'shop' }),
    DistributedCacheMetricsModule.forRoot(), // prom-client's global registry, 'distributed_cache_'
  ],
  controllers: [MetricsController],
})
export class AppModule {}
// #endregion metrics
