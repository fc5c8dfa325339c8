/**
 * Compile-time checks, run by `npm run typecheck` (tsc): each `@ts-expect-error` line must fail to
 * type-check, or tsc reports the directive as unused.
 */
import { DistributedCacheModule, type Duration } from '../../lib/index.js';

export const ok: Duration[] = [500, '500ms', '30s', '1.5s', '5m', '1h', '1d'];

// @ts-expect-error: a unit TypeScript can see is not one of ms, s, m, h, d
export const minutes: Duration = '5 minutes';

// @ts-expect-error: a bare number string has no unit
export const bare: Duration = '5';

DistributedCacheModule.forRoot({
  // @ts-expect-error: the default TTL takes a Duration
  ttl: '5 minutes',
});

DistributedCacheModule.forRoot({
  // @ts-expect-error: l2.type is a closed union
  l2: { type: 'mongo' },
});

DistributedCacheModule.forRoot({
  // @ts-expect-error: overflow is 'drop-oldest' or 'reject'
  writeBehind: { overflow: 'block' },
});
