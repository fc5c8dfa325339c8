// #region async
import { ConfigModule, ConfigService } from '@nestjs/config';
import { DistributedCacheModule } from 'nestjs-distributed-cache';
// #endregion async

export const asyncRegistration =
  // #region async

  DistributedCacheModule.forRootAsync({
    isGlobal: true,
    imports: [ConfigModule],
    inject: [ConfigService],
    useFactory: (config: ConfigService) => ({
      l2: { type: 'redis', url: config.getOrThrow<string>('REDIS_URL') },
    }),
  });
// #endregion async
