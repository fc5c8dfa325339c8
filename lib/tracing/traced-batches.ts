import type { WriteTarget } from '../write-behind/flusher-ports.js';
import { cacheChannels, type CacheBatchTraceContext } from './cache-channels.js';
import { traced } from './traced.js';

/**
 * `target` with each write-behind batch published on the `batch` TracingChannel (one trace per
 * attempt: a retried batch is traced again). Untouched calls when nothing subscribes.
 */
export function tracedBatches(target: WriteTarget, namespace: string): WriteTarget {
  const channel = cacheChannels.batch;
  return {
    write: (writes, ensure) => {
      if (!channel.start.hasSubscribers) return target.write(writes, ensure);
      let bytes = 0;
      const keys = new Array<string>(writes.length);
      writes.forEach((write, i) => {
        keys[i] = write.key;
        if (write.kind === 'set') bytes += write.value.length;
      });
      const context: CacheBatchTraceContext = {
        operation: 'batch',
        namespace,
        size: writes.length,
        bytes,
        keys,
      };
      return traced(channel, context, () => target.write(writes, ensure));
    },
    ensure: (requests) => target.ensure(requests),
  };
}
