import {
  type BeforeApplicationShutdown,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { LOGGER_CONTEXT } from './cache.constants.js';
import type { InvalidationBus } from './invalidation/invalidation-bus.js';
import type { L2Store } from './contracts/l2-store.interface.js';
import type { ResolvedCacheOptions } from './options/resolved-options.js';
import type { TieredCache } from './tiering/tiered-cache.js';
import { enableOpenTelemetry } from './tracing/open-telemetry.js';

/**
 * Opens L2 at start-up and, at `app.close()`, drains the write-behind queue before closing
 * connections. Nest runs every module's `beforeApplicationShutdown` before any
 * `onApplicationShutdown`, so writes made by other modules while they shut down still drain.
 * Created by a factory provider of its registration (cache.registration.ts).
 */
export class CacheLifecycle
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private drained = false;
  /** The start-up in progress or done (settled before anything is closed). */
  private starting: Promise<void> | undefined;
  /** Turns this cache's OpenTelemetry spans off (`tracing`), once they are on. */
  private stopTracing: (() => void) | undefined;

  constructor(
    private readonly options: ResolvedCacheOptions,
    private readonly store: L2Store,
    private readonly cache: TieredCache,
    private readonly bus: InvalidationBus | null,
    /** The registration's name; `undefined` for the default cache. */
    private readonly name: string | undefined,
  ) {}

  onModuleInit(): Promise<void> {
    this.starting = this.start();
    return this.starting;
  }

  onApplicationBootstrap(): void {
    const { namespace, l1, writeBehind: wb } = this.options;
    this.logger.log(
      `Started${this.name === undefined ? '' : ` cache '${this.name}'`}: ` +
        `L2 ${this.store.description}, namespace '${namespace}', ` +
        (l1 ? `L1 ${l1.max} entries / ${l1.maxBytes} bytes / ${l1.ttlMs} ms, ` : 'L1 off, ') +
        (wb.enabled
          ? `write-behind every ${wb.flushIntervalMs} ms, batches of ${wb.maxBatchSize}, max ${wb.maxPending} pending (${wb.overflow}), `
          : 'write-through, ') +
        (this.bus
          ? `invalidation bus on '${this.options.invalidation.channel}'`
          : 'no invalidation bus'),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    // A module closed without beforeApplicationShutdown (e.g. TestingModule.close()) still drains.
    await this.drain();
    await this.bus?.close();
    await this.store.close();
    this.stopTracing?.();
  }

  private async start(): Promise<void> {
    // First: a missing @opentelemetry/api fails start-up before any connection opens.
    const { tracing, namespace } = this.options;
    if (tracing !== false)
      this.stopTracing = await enableOpenTelemetry(namespace, tracing.recordKeys);
    await this.store.connect?.();
    await this.cache.start();
    await this.bus?.start();
  }

  private async drain(): Promise<void> {
    // Nest closes an app whose init failed as soon as one init hook rejects, while the others
    // (this start-up among them) may still be running: let it settle, or the connections it is
    // still opening would outlive close().
    await this.starting?.catch(() => undefined);
    if (this.drained) return;
    this.drained = true;
    const { unwritten, waitedMs, l2Down } = await this.cache.close();
    if (unwritten > 0) {
      const bound = l2Down ? 'L2 was down (circuit breaker open)' : 'writeBehind.shutdownTimeoutMs';
      this.logger.error(
        `${unwritten} write(s) could not be written to L2 within ${waitedMs} ms (${bound}) and were lost`,
      );
    }
  }
}
