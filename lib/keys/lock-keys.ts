/**
 * Names of the distributed single-flight lock keys.
 *
 * A lock key must hash where its value key does (the same Redis Cluster slot, the same twemproxy
 * shard), so that the value write and the lock release run as one script on one server. Both
 * topologies hash by the Redis `{hash tag}` rule (twemproxy with `hash_tag: "{}"`): the part
 * between the first `{` and the first `}` after it, when that part is not empty, else the whole
 * key. So:
 *
 * - a value key with a hash tag (`ns:user:{42}:profile`) gets `ns|l:user:{42}:profile`, whose
 *   first braces are the same tag (a namespace has no braces, nor has `|l:`);
 * - any other value key `K` gets `ns|l:{K}`, whose tag is all of `K`, as K's own hash is.
 *
 * The second form fails only for a key without a tag that still contains a `}` (`a}b`, `x{}y`):
 * there the tag would stop early. Such a key gets no lock key, and its `lock` option falls back to
 * single-flight within the instance. Lock keys live under `${namespace}|`, beside the version
 * keys, where no caller key can be (a namespace has neither `|` nor `:`).
 */

/** The part of `key` Redis Cluster (and twemproxy with `hash_tag: "{}"`) hashes. */
export function hashPartOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/**
 * The lock key of the value stored under `${namespace}:${key}`, or `undefined` when no key can
 * share its hash slot (see above).
 */
export function lockKeyOf(namespace: string, key: string): string | undefined {
  const valueKey = `${namespace}:${key}`;
  const valuePart = hashPartOf(valueKey);
  const lockKey = valuePart === valueKey ? `${namespace}|l:{${valueKey}}` : `${namespace}|l:${key}`;
  return hashPartOf(lockKey) === valuePart ? lockKey : undefined;
}
