import { namespaceVersionKey, tagVersionKey } from '../keys/version-keys.js';
import type { LandedChange } from '../invalidation/invalidation-target.js';
import type { PendingWrite } from '../write-behind/pending-write.js';

export type { LandedChange };

/**
 * Turns the writes of `namespace` that landed back into caller keys (entries under
 * `${namespace}:`), tag tokens (tag version keys) and a clear (the namespace version key).
 */
export function landedChange(writes: readonly PendingWrite[], namespace: string): LandedChange {
  const prefix = `${namespace}:`;
  const namespaceKey = namespaceVersionKey(namespace);
  const versionPrefix = tagVersionKey(namespace, '');
  const keys: string[] = [];
  let tags: Record<string, string> | undefined;
  let clear: string | undefined;
  for (const write of writes) {
    if (write.key.startsWith(prefix)) {
      keys.push(write.key.slice(prefix.length));
    } else if (write.kind === 'set' && write.key === namespaceKey) {
      clear = write.payload.toString('utf8');
    } else if (write.kind === 'set' && write.key.startsWith(versionPrefix)) {
      (tags ??= {})[write.key.slice(versionPrefix.length)] = write.payload.toString('utf8');
    }
  }
  return {
    keys,
    ...(tags ? { tags } : {}),
    ...(clear !== undefined ? { clear } : {}),
  };
}
