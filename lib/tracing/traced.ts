import type { TracingChannel } from 'node:diagnostics_channel';
import type {
  CacheBatchTraceContext,
  CacheL2ReadTraceContext,
  CacheTraceContext,
} from './cache-channels.js';

/** Any context the cache publishes. */
export type AnyTraceContext = CacheTraceContext | CacheBatchTraceContext | CacheL2ReadTraceContext;

/** What a span source (the OpenTelemetry bridge) wraps around a traced call. */
export interface SpanSource {
  around<T>(context: AnyTraceContext, run: () => Promise<T>): Promise<T>;
}

/** The span source in use, while some cache has `tracing` on (see open-telemetry.ts). */
let spans: SpanSource | undefined;

/** Installs (or, with `undefined`, removes) the span source. */
export function useSpanSource(source: SpanSource | undefined): void {
  spans = source;
}

/**
 * Runs `call` as one trace on `channel`: `start`/`end` around the call, `asyncStart`/`asyncEnd`
 * when its promise settles, `error` when it rejects; `call` runs inside the `start` event's bound
 * stores (AsyncLocalStorage), so work it starts (a getOrSet factory) belongs to the trace. With a
 * span source installed, inside its span as well (the active OpenTelemetry context). The caller
 * checks `channel.start.hasSubscribers` first, so untraced calls pay nothing.
 *
 * NOTE: the cache traces when a subscriber listens to `start`, as `TracingChannel.subscribe()`
 * subscribers normally do.
 */
export function traced<T, C extends AnyTraceContext>(
  channel: TracingChannel<unknown, C>,
  context: C,
  call: (trace: C) => Promise<T>,
): Promise<T> {
  const run = (): Promise<T> => channel.tracePromise(() => call(context), context);
  return spans === undefined ? run() : spans.around(context, run);
}
