import { randomUUID } from 'node:crypto';

/** What the cache needs to know about the Redis server behind a connection. */
export interface ServerTraits {
  /** The server takes `SET ... PXAT` (Redis >= 6.2). */
  readonly pxat: boolean;
  /**
   * The server's clock minus this host's, in milliseconds (`undefined` when it could not be
   * measured, e.g. scripts are not allowed).
   */
  readonly clockOffsetMs: number | undefined;
}

/** The commands a probe sends: an ioredis `Redis` or `Cluster` client (both route by key). */
export interface ProbeClient {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  set(key: string, value: string, unit: 'PXAT', at: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/** A clock offset beyond this many milliseconds is logged: PXAT expiries shift by that much. */
export const CLOCK_OFFSET_WARN_MS = 250;

/**
 * One key, so that twemproxy can route it (it closes the connection on `TIME` and on a script
 * without a key) and Cluster accepts it: the server's time, and whether `SET ... PXAT` works.
 */
const PROBE_SCRIPT = `
local t = redis.call('TIME')
local ok = redis.pcall('SET', KEYS[1], '1', 'PXAT', ARGV[1])
redis.call('DEL', KEYS[1])
if type(ok) == 'table' and ok.err then return {t[1], t[2], ok.err} end
return {t[1], t[2], 'OK'}
`;

/**
 * Probes the server once (per connection): whether it takes PXAT, and how far its clock is from
 * ours (measured around one script call on loopback-like latency: half the round trip is the
 * error). Where scripts are refused, only PXAT is tried, with a plain SET.
 * @throws whatever the client throws when the server cannot be reached.
 */
export async function probeServer(client: ProbeClient, keyPrefix: string): Promise<ServerTraits> {
  const key = `${keyPrefix}probe:${randomUUID()}`;
  const at = Date.now() + 10_000;
  const before = Date.now();
  let reply: unknown;
  try {
    reply = await client.eval(PROBE_SCRIPT, 1, key, at);
  } catch (error: unknown) {
    if (!isReplyError(error)) throw error;
    return { pxat: await setPxatWorks(client, key, at), clockOffsetMs: undefined };
  }
  const after = Date.now();
  const [seconds, micros, outcome] = Array.isArray(reply) ? (reply as unknown[]) : [];
  const serverMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  return {
    pxat: outcome === 'OK',
    clockOffsetMs: Number.isFinite(serverMs) ? serverMs - (before + after) / 2 : undefined,
  };
}

async function setPxatWorks(client: ProbeClient, key: string, at: number): Promise<boolean> {
  try {
    await client.set(key, '1', 'PXAT', at);
  } catch (error: unknown) {
    if (isReplyError(error)) return false;
    throw error;
  }
  await client.del(key).catch(() => undefined);
  return true;
}

/** The log lines a probe result calls for, naming `description` (the store, no password). */
export function probeWarnings(description: string, traits: ServerTraits): string[] {
  const lines: string[] = [];
  if (!traits.pxat) {
    lines.push(
      `${description} does not accept SET ... PXAT (Redis < 6.2): TTLs are sent as PX, so a write ` +
        'that waits in a slow server’s socket can outlive its TTL by that wait',
    );
  }
  const offset = traits.clockOffsetMs;
  if (offset !== undefined && Math.abs(offset) > CLOCK_OFFSET_WARN_MS) {
    lines.push(
      `${description}: the Redis clock is ${Math.round(Math.abs(offset))} ms ` +
        `${offset > 0 ? 'ahead of' : 'behind'} this host's; keys expire that much ` +
        `${offset > 0 ? 'earlier' : 'later'} in Redis than their TTL says (PXAT is absolute; ` +
        'readers still see the right expiry)',
    );
  }
  return lines;
}

function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}
