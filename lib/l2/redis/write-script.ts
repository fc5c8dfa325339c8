import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ReplyError } from 'ioredis';
import type { L2Write } from '../../contracts/l2-store.interface.js';
import { framedCommand, sendBurst, sendFramed } from './command-burst.js';
import { writeCommand } from './lock-scripts.js';
import { chunks, expiryArgs } from './redis-batch.js';

/**
 * A write batch as one Lua script call instead of a pipeline of SET/DEL commands.
 *
 * Why: ioredis spends about 5 µs of client CPU per pipelined command (a Command object, a promise
 * and a reply each); one EVALSHA carrying 1,000 writes costs a fraction of that, so 100,000
 * durable sets take about half the time of ioredis pipelines of 1,000 (measured by
 * `npm run bench`, scenario d). Each write still is one `SET key value PXAT at` (or `DEL key`)
 * inside Redis, and `redis.pcall` keeps failures per write, as a pipeline does.
 *
 * Only for a single Redis and Sentinel: twemproxy routes a script by its first key and Cluster
 * refuses keys of several slots in one script. A batch with a write that ends a single-flight
 * lock (`L2Write.releases`) goes as a burst of commands (command-burst.ts, lock-scripts.ts).
 *
 * KEYS[i] is the key; ARGV[2i-1] the value and ARGV[2i] the expiry, or '' for a delete; the last
 * ARGV is the expiry's unit: 'PXAT' (epoch ms) or, on servers before 6.2, 'PX' (ms from now). The
 * reply lists failures as pairs: the write's 0-based index, then the error reply's text.
 */
const SCRIPT = `
local failed = {}
local unit = ARGV[#ARGV]
for i = 1, #KEYS do
  local expiry = ARGV[2 * i]
  local reply
  if expiry == '' then
    reply = redis.pcall('DEL', KEYS[i])
  else
    reply = redis.pcall('SET', KEYS[i], ARGV[2 * i - 1], unit, expiry)
  end
  if type(reply) == 'table' and reply.err then
    failed[#failed + 1] = i - 1
    failed[#failed + 1] = reply.err
  end
end
return failed
`;

/** The script's SHA1, the name Redis caches it under (EVALSHA). */
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** Redis refusing the script command itself: an ACL without `+evalsha`, a renamed command. */
const COMMAND_REFUSED = /^(NOPERM\b.*\b(evalsha|eval)\b|ERR unknown command)/i;
/** Redis refusing the call for a key it names (ACL key patterns), before running the script. */
const KEY_REFUSED = /^NOPERM\b/;

/**
 * Whether Redis refused a script call before running it, and why: `'command'` (scripts are not
 * allowed here: fall back to pipelines for good) or `'keys'` (the ACL forbids one of the keys:
 * send that batch as a pipeline, which reports each write alone). `undefined` for any other
 * failure (OOM, BUSY, a lost connection): the batch's own.
 */
function scriptRefusal(error: unknown): 'command' | 'keys' | undefined {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return undefined;
  if (COMMAND_REFUSED.test(error.message)) return 'command';
  return KEY_REFUSED.test(error.message) ? 'keys' : undefined;
}

/**
 * Sends `writes` (already checked sendable) as one script call on `client`. Resolves with the
 * failures by index in `writes`; rejects when the call as a whole failed.
 *
 * EVALSHA first; on NOSCRIPT (after a restart, or a failover to a server that never saw it) the
 * body once more with EVAL, which also caches it. The call is a {@link FramedCommand}: ioredis'
 * own script commands frame the ~3,000 arguments of a batch through an array of parts, about
 * 1.9 µs per write against 1.1 here (ad-hoc harness, 1,000-write batches, 35 alternating rounds).
 */
async function writeByScript(
  client: Redis,
  writes: readonly L2Write[],
  pxat: boolean,
): Promise<Map<number, unknown>> {
  const n = writes.length;
  // [script, numkeys, keys..., then a value and an expiry per write..., unit]
  const args = new Array<string | Buffer | number>(n * 3 + 3);
  args[0] = SCRIPT_SHA;
  args[1] = n;
  for (let i = 0; i < n; i++) {
    const write = writes[i]!;
    args[2 + i] = write.key;
    if (write.kind === 'set') {
      args[2 + n + 2 * i] = write.value;
      args[3 + n + 2 * i] = String(expiryArgs(write.expiresAt, pxat)[1]);
    } else {
      args[2 + n + 2 * i] = '';
      args[3 + n + 2 * i] = '';
    }
  }
  args[2 + n * 3] = pxat ? 'PXAT' : 'PX';
  let reply: unknown;
  try {
    reply = await sendFramed(client, framedCommand(client, 'evalsha', args));
  } catch (error: unknown) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    args[0] = SCRIPT;
    reply = await sendFramed(client, framedCommand(client, 'eval', args));
  }
  const failures = new Map<number, unknown>();
  if (!Array.isArray(reply)) return failures;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const index = Number(reply[i]);
    const message = String(reply[i + 1]);
    failures.set(index, new (ReplyError as new (message: string) => Error)(message));
  }
  return failures;
}

/** Turns an error a write met into the one its caller sees (the twemproxy store's translation). */
type Translate = (error: unknown) => unknown;

/**
 * Sends `writes` as script calls of up to 1,000 writes, back to back (Redis runs them in order).
 * Returns the failures by index in `writes`, or, when Redis refused a call before running it,
 * why (`'command'`: no scripts here; `'keys'`: the ACL forbids a key): the caller then sends the
 * batch as a burst of commands, which reports each write alone.
 */
export async function writeByScripts(
  client: Redis,
  writes: readonly L2Write[],
  pxat: boolean,
  translate: Translate,
): Promise<
  { failures: Map<number, unknown>; refused?: undefined } | { refused: 'command' | 'keys' }
> {
  const parts = [...chunks(writes)];
  const settled = await Promise.allSettled(parts.map((part) => writeByScript(client, part, pxat)));
  const refusals = settled.map((result) =>
    result.status === 'rejected' ? scriptRefusal(result.reason) : undefined,
  );
  if (refusals.includes('command')) return { refused: 'command' };
  if (refusals.includes('keys')) return { refused: 'keys' };
  const failures = new Map<number, unknown>();
  let offset = 0;
  settled.forEach((result, i) => {
    const size = parts[i]!.length;
    if (result.status === 'fulfilled') {
      for (const [index, error] of result.value) failures.set(offset + index, translate(error));
    } else {
      const error = translate(result.reason);
      for (let j = 0; j < size; j++) failures.set(offset + j, error);
    }
    offset += size;
  });
  return { failures };
}

/**
 * Sends `writes` as SET/DEL commands in one burst (see command-burst.ts); returns the failures
 * by index.
 */
export async function writeByBurst(
  client: Redis,
  writes: readonly L2Write[],
  pxat: boolean,
  translate: Translate,
): Promise<Map<number, unknown>> {
  const commands = writes.map((write) => writeCommand(client, write, pxat));
  const translated = new Map<number, unknown>();
  for (const [position, error] of (await sendBurst(client, commands)).failures) {
    translated.set(position, translate(error));
  }
  return translated;
}
