/**
 * What instances tell each other on the bus after a change landed in L2: which keys changed,
 * which tags and whether the namespace were bumped (with the new version tokens). Keys only,
 * never values. One message per flushed batch.
 */
export interface InvalidationMessage {
  /** Format version. */
  readonly v: 1;
  /** Namespace of the sender; other namespaces ignore the message. */
  readonly ns: string;
  /** Sender's instance id; the sender ignores its own messages. */
  readonly src: string;
  /** Caller keys (without the namespace) written or deleted. */
  readonly k?: readonly string[];
  /** Tags invalidated, with their new version tokens. */
  readonly t?: Readonly<Record<string, string>>;
  /** New namespace version token after `clear()`. */
  readonly c?: string;
  /**
   * When the sender published it (its clock, epoch ms): receivers measure the bus lag from it
   * (across hosts, clock offset included). Optional: older senders leave it out.
   */
  readonly at?: number;
}

/** Serializes a message (JSON: small, and readable with `redis-cli SUBSCRIBE`). */
export function encodeInvalidation(message: InvalidationMessage): string {
  return JSON.stringify(message);
}

/**
 * Parses and checks a message from the bus. Returns `undefined` for anything malformed: the bus
 * is an open channel, so a bad message is ignored (and counted), never trusted.
 */
export function decodeInvalidation(raw: string): InvalidationMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { v, ns, src, k, t, c, at } = parsed as Record<string, unknown>;
  if (at !== undefined && !(typeof at === 'number' && Number.isFinite(at))) return undefined;
  if (v !== 1 || typeof ns !== 'string' || typeof src !== 'string') return undefined;
  if (
    k !== undefined &&
    !(Array.isArray(k) && k.every((key) => typeof key === 'string' && key !== ''))
  ) {
    return undefined;
  }
  if (
    t !== undefined &&
    !(
      typeof t === 'object' &&
      t !== null &&
      !Array.isArray(t) &&
      Object.values(t).every((token) => typeof token === 'string')
    )
  ) {
    return undefined;
  }
  if (c !== undefined && typeof c !== 'string') return undefined;
  return parsed as InvalidationMessage;
}
