// #region register
import { Injectable, Module } from '@nestjs/common';
import {
  Cacheable,
  CacheService,
  DistributedCacheModule,
  InjectCache,
} from 'nestjs-distributed-cache';
// #endregion register
import { fetchRate } from './support.js';

/** What the example stores per session. */
export interface Session {
  userId: string;
}

// #region inject
@Injectable()
export class SessionStore {
  constructor(@InjectCache('sessions') private readonly sessions: CacheService) {}

  save(id: string, session: Session): Promise<void> {
    return this.sessions.set(`session:${id}`, session);
  }

  find(id: string): Promise<Session | undefined> {
    return this.sessions.get<Session>(`session:${id}`);
  }
}

@Injectable()
export class RatesService {
  // Stored in the 'rates' cache; without `cache`, a decorator uses the default cache.
  @Cacheable({ cache: 'rates', key: 'rate:{0}:{1}' })
  rate(from: string, to: string): Promise<number> {
    return fetchRate(from, to);
  }
}
// #endregion inject

// #region register

@Module({
  imports: [
    // The default cache: CacheService.
    DistributedCacheModule.forRoot({
      isGlobal: true,
      namespace: 'shop',
      l2: { type: 'redis', url: process.env.REDIS_URL },
    }),
    // Sessions: same Redis, own namespace, 30 minutes, no L1 (always read from Redis).
    DistributedCacheModule.forRoot({
      name: 'sessions',
      isGlobal: true,
      namespace: 'sessions',
      ttl: '30m',
      l1: false,
      l2: { type: 'redis', url: process.env.REDIS_URL },
    }),
    // Exchange rates: per instance, in memory only, 10 seconds.
    DistributedCacheModule.forRoot({
      name: 'rates',
      isGlobal: true,
      namespace: 'rates',
      ttl: '10s',
      l1: { max: 1_000 },
      l2: { type: 'memory' },
    }),
  ],
  providers: [SessionStore, RatesService],
})
export class AppModule {}
// #endregion register
