import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DistributedCacheModuleOptions } from './options/cache-options.interface.js';

/**
 * forRoot / forRootAsync come from Nest's builder; `isGlobal` is an extra that sits beside the
 * options (and beside useFactory in forRootAsync), as in Nest's own modules.
 */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: DISTRIBUTED_CACHE_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DistributedCacheModuleOptions>({ moduleName: 'DistributedCache' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createCacheOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
