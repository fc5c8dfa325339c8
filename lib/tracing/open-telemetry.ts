import type { Attributes, Link, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { importOptionalPeer } from '../errors/optional-peer.js';
import { cacheChannels, type CacheBatchTraceContext } from './cache-channels.js';
import { useSpanSource, type AnyTraceContext, type SpanSource } from './traced.js';

/** The `@opentelemetry/api` module. Internal: only this file sees its types at run time. */
type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** How `@opentelemetry/api` is imported; replaced in tests to act as if it were not installed. */
export type OpenTelemetryImporter = () => Promise<unknown>;

const importOpenTelemetry: OpenTelemetryImporter = () => import('@opentelemetry/api');

/** Span names by operation. */
const SPAN_NAMES: Readonly<Record<AnyTraceContext['operation'], string>> = {
  get: 'cache.get',
  mget: 'cache.get_many',
  set: 'cache.put',
  mset: 'cache.put_many',
  del: 'cache.remove',
  getOrSet: 'cache.get_or_set',
  flush: 'cache.flush',
  clear: 'cache.clear',
  invalidateTags: 'cache.invalidate_tags',
  batch: 'cache.write_batch',
  l2Read: 'cache.l2_read',
};

/** Set spans remembered for the batch spans to link to, at most (the oldest go first). */
const REMEMBERED_SETS = 10_000;

type AnyContext = AnyTraceContext;

/**
 * Turns the cache's TracingChannels into OpenTelemetry spans, for the namespaces of the caches
 * with `tracing` on (one bridge per process: the channels are process-wide).
 *
 * - Each operation's span is a child of the active context, and the operation runs inside it, so
 *   a getOrSet factory's own spans (HTTP, database) nest under `cache.get_or_set`.
 * - Attributes come from the operation's context once it settled: `cache.namespace`, `cache.hit`,
 *   `cache.tier`, `cache.item_size`, `cache.ttl`; `cache.key` only with `recordKeys`.
 * - A write-behind batch gets a `cache.write_batch` span (kind client, `db.system.name` redis,
 *   `db.operation.name` BATCH, `db.operation.batch.size`) that links to the `cache.put` spans of
 *   the values it carries.
 * - A rejected operation records the exception and sets the span's status to error.
 */
class OpenTelemetrySpans implements SpanSource {
  private readonly tracer: Tracer;
  private readonly namespaces = new Map<string, { recordKeys: boolean; users: number }>();
  /** Full Redis key -> the span of its latest `set`, for batch links. */
  private readonly sets = new Map<string, SpanContext>();
  /** Keeps every channel's `start` subscribed, which turns the cache's tracing on. */
  private readonly keepAlive = (): void => undefined;

  constructor(private readonly api: OpenTelemetryApi) {
    this.tracer = api.trace.getTracer('nestjs-distributed-cache');
  }

  get idle(): boolean {
    return this.namespaces.size === 0;
  }

  enable(namespace: string, recordKeys: boolean): void {
    if (this.idle) {
      for (const channel of Object.values(cacheChannels)) channel.start.subscribe(this.keepAlive);
      useSpanSource(this);
    }
    const current = this.namespaces.get(namespace);
    this.namespaces.set(namespace, {
      recordKeys: recordKeys || current?.recordKeys === true,
      users: (current?.users ?? 0) + 1,
    });
  }

  disable(namespace: string): void {
    const current = this.namespaces.get(namespace);
    if (current === undefined) return;
    if (current.users > 1) {
      this.namespaces.set(namespace, { ...current, users: current.users - 1 });
      return;
    }
    this.namespaces.delete(namespace);
    if (!this.idle) return;
    for (const channel of Object.values(cacheChannels)) channel.start.unsubscribe(this.keepAlive);
    useSpanSource(undefined);
    this.sets.clear();
  }

  around<T>(context: AnyContext, run: () => Promise<T>): Promise<T> {
    const settings = this.namespaces.get(context.namespace);
    if (settings === undefined) return run();
    const { api } = this;
    const client = context.operation === 'batch' || context.operation === 'l2Read';
    const options = {
      kind: client ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
      attributes: this.startAttributes(context, settings.recordKeys),
      ...(context.operation === 'batch' ? { links: this.linksOf(context) } : {}),
    };
    return this.tracer.startActiveSpan(SPAN_NAMES[context.operation], options, (span: Span) => {
      if (context.operation === 'set' && context.key !== undefined) {
        this.remember(`${context.namespace}:${context.key}`, span.spanContext());
      }
      let running: Promise<T>;
      try {
        running = run();
      } catch (error: unknown) {
        // A call that throws instead of rejecting still ends its span.
        running = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      return running.then(
        (result) => {
          span.setAttributes(this.endAttributes(context));
          // An L2 failure the call answered without (a miss): on the span, not its status.
          if ('l2Error' in context && context.l2Error !== undefined) {
            span.addEvent('cache.l2_error', {
              'exception.message': messageOf(context.l2Error),
            });
          }
          span.end();
          return result;
        },
        (error: unknown) => {
          span.setAttributes(this.endAttributes(context));
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({
            code: api.SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
          span.end();
          throw error;
        },
      );
    });
  }

  private startAttributes(context: AnyContext, recordKeys: boolean): Attributes {
    if (context.operation === 'l2Read') {
      return {
        'cache.namespace': context.namespace,
        'db.system.name': 'redis',
        'db.operation.name': 'MGET',
        'cache.keys.count': context.size,
      };
    }
    if (context.operation === 'batch') {
      return {
        'cache.namespace': context.namespace,
        'db.system.name': 'redis',
        'db.operation.name': 'BATCH',
        'db.operation.batch.size': context.size,
        'cache.batch.bytes': context.bytes,
      };
    }
    const attributes: Attributes = { 'cache.namespace': context.namespace };
    if (recordKeys && context.key !== undefined) attributes['cache.key'] = context.key;
    if (context.keys !== undefined) attributes['cache.keys.count'] = context.keys.length;
    return attributes;
  }

  private endAttributes(context: AnyContext): Attributes {
    if (context.operation === 'batch' || context.operation === 'l2Read') return {};
    const attributes: Attributes = {};
    if (context.hit !== undefined) attributes['cache.hit'] = context.hit;
    if (context.tier !== undefined) attributes['cache.tier'] = context.tier;
    if (context.itemSize !== undefined) attributes['cache.item_size'] = context.itemSize;
    if (context.ttlMs !== undefined) attributes['cache.ttl'] = context.ttlMs;
    if (context.hits !== undefined) attributes['cache.hits'] = context.hits;
    if (context.loaded !== undefined) attributes['cache.loaded'] = context.loaded;
    if (context.joined !== undefined) attributes['cache.joined'] = context.joined;
    if (context.lock !== undefined) attributes['cache.lock'] = context.lock;
    if (context.lockFallback !== undefined) {
      attributes['cache.lock.fallback_reason'] = context.lockFallback;
    }
    if (context.l2Error !== undefined) attributes['cache.l2_error'] = true;
    return attributes;
  }

  private remember(fullKey: string, span: SpanContext): void {
    this.sets.delete(fullKey);
    this.sets.set(fullKey, span);
    if (this.sets.size > REMEMBERED_SETS) {
      const oldest = this.sets.keys().next();
      if (oldest.done !== true) this.sets.delete(oldest.value);
    }
  }

  private linksOf(context: CacheBatchTraceContext): Link[] {
    const links: Link[] = [];
    for (const key of context.keys) {
      const span = this.sets.get(key);
      if (span === undefined) continue;
      links.push({ context: span });
      this.sets.delete(key); // a value links to the batch that carried it once
    }
    return links;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let shared: OpenTelemetrySpans | undefined;

/**
 * Turns on OpenTelemetry spans for `namespace` (`tracing` option); returns what turns them off
 * again (at shutdown). Loads `@opentelemetry/api` on first use.
 * @throws CacheOptionalDependencyError when `@opentelemetry/api` is not installed.
 */
export async function enableOpenTelemetry(
  namespace: string,
  recordKeys: boolean,
  importer: OpenTelemetryImporter = importOpenTelemetry,
): Promise<() => void> {
  if (shared === undefined) {
    const api = await importOptionalPeer<OpenTelemetryApi>(
      importer,
      { packageName: '@opentelemetry/api', feature: 'tracing', instead: 'or set tracing: false' },
      (module) => typeof module.trace === 'object',
    );
    shared ??= new OpenTelemetrySpans(api);
  }
  const spans = shared;
  spans.enable(namespace, recordKeys);
  let enabled = true;
  return () => {
    if (!enabled) return;
    enabled = false;
    spans.disable(namespace);
  };
}
