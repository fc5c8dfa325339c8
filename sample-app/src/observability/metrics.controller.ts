import { Controller, Get, Header } from '@nestjs/common';
import { PrometheusCacheExporter } from 'nestjs-distributed-cache/metrics';
// NOTE: a default import: prom-client is CommonJS and Node's ESM loader cannot see all its named
// exports (`contentType` among them).
import promClient from 'prom-client';

/** `GET /metrics`: the Prometheus registry, cache metrics included (`distributed_cache_*`). */
@Controller()
export class MetricsController {
  constructor(private readonly exporter: PrometheusCacheExporter) {}

  @Get('metrics')
  @Header('Content-Type', promClient.contentType)
  async metrics(): Promise<string> {
    return (await this.exporter.scrape()).body;
  }
}
