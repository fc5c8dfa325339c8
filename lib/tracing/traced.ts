import type { TracingChannel } from 'node:diagnostics_channel';
import type { CacheTraceContext } from './cache-channels.js';

/**
 * Runs `call` as one trace on `channel`: `start`/`end` around the call, `asyncStart`/`asyncEnd`
 * when its promise settles, `error` when it rejects; `call` runs inside the `start` event's bound
 * stores (AsyncLocalStorage), so work it starts (a getOrSet factory) belongs to the trace. The
 * caller checks `channel.start.hasSubscribers` first, so untraced calls pay nothing.
 *
 * NOTE: the cache traces when a subscriber listens to `start`, as `TracingChannel.subscribe()`
 * subscribers normally do.
 */
export function traced<T>(
  channel: TracingChannel<unknown, CacheTraceContext>,
  context: CacheTraceContext,
  call: (trace: CacheTraceContext) => Promise<T>,
): Promise<T> {
  return channel.tracePromise(() => call(context), context);
}
