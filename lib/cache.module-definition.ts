import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DistributedCacheModuleOptions } from './options/cache-options.interface.js';

/**
 * Options of a registration that are not cache options: they sit beside the options in
 * `forRoot` and beside `useFactory` in `forRootAsync`, as in Nest's own modules.
 */
export interface DistributedCacheRegistrationExtras {
  /** Make the cache injectable in every module. @default false */
  isGlobal?: boolean;
  /**
   * Register a named cache, injected with `@InjectCache(name)`, next to the default one.
   * @default undefined (the default cache, injected as `CacheService`)
   */
  name?: string;
}

/**
 * forRoot / forRootAsync of the default cache come from Nest's builder; `isGlobal` and `name` are
 * extras that sit beside the options (and beside useFactory in forRootAsync).
 *
 * NOTE: a named registration does not use the builder's module definition: its
 * MODULE_OPTIONS_TOKEN is one token shared by every registration, so `DistributedCacheModule`
 * builds a named cache's providers under its own tokens (see cache.tokens.ts). The builder still
 * types both.
 */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: DISTRIBUTED_CACHE_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DistributedCacheModuleOptions>({ moduleName: 'DistributedCache' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createCacheOptions')
  // NOTE: only isGlobal has a runtime default; `name` is listed in the type so that
  // forRootAsync({ name, useFactory }) type-checks.
  .setExtras<DistributedCacheRegistrationExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
