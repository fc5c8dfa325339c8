import { encodedValue, type PendingWrite } from '../write-behind/pending-write.js';
import type { VersionRegistry } from './version-registry.js';

/** What changed in L2 by this instance, once it landed: what the invalidation bus announces. */
export interface LandedChange {
  /** Caller keys written or deleted. */
  readonly keys: readonly string[];
  /** Tags invalidated, with their new tokens. */
  readonly tags?: Readonly<Record<string, string>>;
  /** New namespace token after `clear()`. */
  readonly clear?: string;
}

/** Turns writes that landed back into caller keys (without `prefix`), tags and clears. */
export function landedChange(
  writes: readonly PendingWrite[],
  prefix: string,
  versions: VersionRegistry,
): LandedChange {
  const versionPrefix = `${versions.namespaceKey.slice(0, -1)}t:`;
  const keys: string[] = [];
  let tags: Record<string, string> | undefined;
  let clear: string | undefined;
  for (const write of writes) {
    if (write.key.startsWith(prefix)) {
      keys.push(write.key.slice(prefix.length));
    } else if (write.kind === 'set' && write.key === versions.namespaceKey) {
      clear = encodedValue(write).toString('utf8');
    } else if (write.kind === 'set' && write.key.startsWith(versionPrefix)) {
      (tags ??= {})[write.key.slice(versionPrefix.length)] = encodedValue(write).toString('utf8');
    }
  }
  return {
    keys,
    ...(tags ? { tags } : {}),
    ...(clear !== undefined ? { clear } : {}),
  };
}
