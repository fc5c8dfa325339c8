// #region options
import { Module } from '@nestjs/common';
import { DistributedCacheModule } from 'nestjs-distributed-cache';

@Module({
  imports: [
    DistributedCacheModule.forRoot({
      isGlobal: true,
      namespace: 'shop',
      ttl: '5m',
      l1: { max: 10_000, maxBytes: 64 * 1024 * 1024, ttl: '30s' },
      l2: { type: 'redis', url: 'redis://127.0.0.1:6379' },
      writeBehind: { flushIntervalMs: 20, maxPending: 100_000, overflow: 'drop-oldest' },
      l2TimeoutMs: 250,
    }),
  ],
})
export class AppModule {}
// #endregion options
