import diagnosticsChannel from 'node:diagnostics_channel';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { Command } from 'ioredis';

/**
 * Many commands written to one connection in a single socket write, each answered on its own:
 * what an ioredis pipeline does, for about half its client CPU per command.
 *
 * Why not `client.pipeline()`: per command it adds two promise reactions and a `[error, reply]`
 * array to the command's own promise, and it copies every command's bytes once more into one
 * concatenated Buffer before writing. Here each command goes to `sendCommand` (ioredis' public
 * entry, which the twemproxy guard checks) while the socket is corked, so Node hands them to the
 * kernel as one vectored write when it is uncorked. Through nutcracker, 100,000 `SET ... PXAT`
 * of framed ~240-byte values, 1,000 per burst and 4 in flight: 10.3-10.5 µs of client CPU per
 * write as pipelines, 5.3-6.3 as bursts (ad-hoc harness, 3 runs, alternating).
 */

/**
 * A command framed without ioredis' intermediate parts. ioredis frames a command that carries a
 * Buffer (every entry envelope) by collecting its parts in an array and copying them into a new
 * Buffer of its own; this writes them straight into the Buffer, and a burst frames all its
 * commands into one Buffer ({@link frameAll}), each command's bytes a view of it: one allocation per burst rather
 * than one per command (through nutcracker, 29 alternating pairs of 100,000 sets: 4 % less client
 * CPU and 13 % more sets/s than framing each command alone).
 */
export class FramedCommand extends Command {
  /** Its bytes, once framed into its burst's buffer. */
  private framed: Buffer | undefined;

  /** Frames `commands` into one Buffer, each keeping a view of its own bytes. */
  static frameAll(commands: readonly FramedCommand[]): void {
    let size = 0;
    for (const command of commands) size += command.frameLength();
    const out = Buffer.allocUnsafe(size);
    let offset = 0;
    for (const command of commands) {
      const end = command.frameInto(out, offset);
      command.framed = out.subarray(offset, end);
      offset = end;
    }
  }

  override toWritable(): Buffer {
    if (this.framed !== undefined) return this.framed;
    const out = Buffer.allocUnsafe(this.frameLength());
    this.frameInto(out, 0);
    return out;
  }

  /** Bytes of the command on the wire. */
  private frameLength(): number {
    const args = this.args as ReadonlyArray<string | Buffer>;
    let size = byteLengthOfHead(this.name, args.length);
    for (const arg of args) {
      const length = typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
      size += decimalDigits(length) + length + 5; // $<length>\r\n<bytes>\r\n
    }
    return size;
  }

  /** Writes the command at `offset` of `out`; returns the offset after it. */
  private frameInto(out: Buffer, offset: number): number {
    const args = this.args as ReadonlyArray<string | Buffer>;
    offset += out.write(`*${args.length + 1}\r\n$${Buffer.byteLength(this.name)}\r\n`, offset);
    offset += out.write(this.name, offset);
    out[offset++] = 13;
    out[offset++] = 10;
    for (const arg of args) {
      const length = typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
      offset += out.write(`$${length}\r\n`, offset, 'latin1');
      offset += typeof arg === 'string' ? out.write(arg, offset) : arg.copy(out, offset);
      out[offset++] = 13;
      out[offset++] = 10;
    }
    return offset;
  }
}

/** Where the replies of a burst go, by the position of each command in it. */
interface BurstTally {
  reply(position: number, reply: unknown): void;
  fail(position: number, error: Error): void;
}

/** The parts of ioredis' `Command` a {@link BurstCommand} settles by itself (not in its typings). */
interface CommandInternals {
  initPromise?: (this: Command) => void;
  _commandTimeoutTimer?: ReturnType<typeof setTimeout>;
}

/**
 * A command of a burst, without a promise of its own: its reply or failure goes straight to its
 * burst ({@link sendBurst}). ioredis' `Command` builds, per command, a promise and three closures
 * (its `initPromise`, called by its constructor), and a burst then added two promise reactions
 * and a microtask per reply. Through nutcracker, where every write is a command of its own, that
 * was a sixth of the client CPU per durable write (`profile-target.ts durable-sets-twemproxy`, 6
 * pairs alternating with the promised commands: faster in 5, median 70k durable sets/s instead of
 * 64k, 13.8 µs of client CPU per write instead of 16.2).
 *
 * It settles as ioredis' commands do (the same `isResolved`/`isSettled` flags, the reply through
 * `transformReply`, a `commandTimeout` timer cleared), so ioredis' own paths (a failed
 * connection's queue, a command timeout, a guard's refusal) fail it like any other. Falls back to
 * an ordinary promised command when ioredis traces commands (its `ioredis:command` tracing
 * channel has subscribers: ioredis then waits on the command's promise), or when a future ioredis
 * no longer builds its promise in `initPromise` (ours is then never called, and the burst waits on
 * the promise as before).
 */
export class BurstCommand extends FramedCommand {
  /** Set when this command settles into {@link tally} rather than a promise. */
  promiseless?: true;
  /** Its burst, and its place there; set before it is sent. */
  tally?: BurstTally;
  position?: number;
}

const promisedInit = (Command.prototype as unknown as CommandInternals).initPromise;
const ioredisCommandTracing = diagnosticsChannel.tracingChannel('ioredis:command');

/** What ioredis checks before it traces a command (its `shouldTrace`). */
function commandsTraced(): boolean {
  return (ioredisCommandTracing as { hasSubscribers?: boolean }).hasSubscribers !== false;
}

Object.defineProperty(BurstCommand.prototype, 'initPromise', {
  value: function initPromiseless(this: BurstCommand): void {
    if (promisedInit === undefined || commandsTraced()) {
      promisedInit?.call(this);
      return;
    }
    this.promiseless = true;
    this.isResolved = false;
    this.isSettled = false;
    // ioredis' own initPromise also turns number arguments into strings: `burstCommand` hands
    // over none (see withArgs).
    this.resolve = settleWithReply;
    this.reject = settleWithError;
  },
});

function settleWithReply(this: BurstCommand, reply: unknown): void {
  if (this.isSettled) return;
  let value: unknown;
  try {
    value = this.transformReply(reply as Buffer);
  } catch (error: unknown) {
    settleWithError.call(this, asError(error)); // as ioredis does
    return;
  }
  this.isResolved = this.isSettled = true;
  stopCommandTimer(this);
  this.tally?.reply(this.position!, value);
}

function settleWithError(this: BurstCommand, error: Error): void {
  if (this.isSettled) return;
  this.isSettled = true;
  stopCommandTimer(this);
  this.tally?.fail(this.position!, error);
}

function stopCommandTimer(command: Command): void {
  const timer = (command as unknown as CommandInternals)._commandTimeoutTimer;
  if (timer !== undefined) clearTimeout(timer);
}

/** Bytes of `*<count>\r\n$<length>\r\n<name>\r\n`. */
function byteLengthOfHead(name: string, argCount: number): number {
  const nameBytes = Buffer.byteLength(name);
  return 1 + decimalDigits(argCount + 1) + 2 + 1 + decimalDigits(nameBytes) + 2 + nameBytes + 2;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Digits of a non-negative integer in base 10. */
function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** What gives a command its key prefix: a client, or the Cluster whose node it is sent to. */
export interface KeyPrefixed {
  readonly options: { readonly keyPrefix?: string };
}

/**
 * A {@link FramedCommand} as the command methods of `client` make it: its key prefix applied, the
 * reply as text, or as a Buffer with `replyAsBuffer`.
 */
export function framedCommand(
  client: KeyPrefixed,
  name: string,
  args: Array<string | Buffer | number>,
  replyAsBuffer = false,
): FramedCommand {
  return withArgs(FramedCommand, name, args, commandOptions(client, replyAsBuffer));
}

/** {@link framedCommand} for a burst ({@link sendBurst}): a {@link BurstCommand}. */
export function burstCommand(
  client: KeyPrefixed,
  name: string,
  args: Array<string | Buffer | number>,
  replyAsBuffer = false,
): BurstCommand {
  return withArgs(BurstCommand, name, args, commandOptions(client, replyAsBuffer));
}

/**
 * A command of `args`, which our callers build flat, without ioredis' constructor copying them
 * through `Array#flat`: about 80 ns per argument, whatever it holds. A 1,000-write script call was
 * built in 252-537 µs, now 11-19; a burst's `SET` in 474-573 ns, now 88-168 (ad-hoc loops). The
 * constructor gets no arguments and a copy of them is put in afterwards, as it would leave them
 * (numbers as strings; none of our commands has an ioredis argument transformer). With a key
 * prefix the constructor gets them all: it prefixes the keys it finds among them.
 */
function withArgs<C extends FramedCommand>(
  Kind: new (name: string, args: Array<string | Buffer | number>, options: object) => C,
  name: string,
  args: Array<string | Buffer | number>,
  options: { keyPrefix?: string; replyEncoding: BufferEncoding | null },
): C {
  const own = args.slice(); // its own array, as the constructor's copy was
  for (let i = 0; i < own.length; i++) {
    if (typeof own[i] === 'number') own[i] = String(own[i]);
  }
  if (options.keyPrefix) return new Kind(name, own, options);
  const command = new Kind(name, [], options);
  command.args = own;
  return command;
}

function commandOptions(
  client: KeyPrefixed,
  replyAsBuffer: boolean,
): { keyPrefix?: string; replyEncoding: BufferEncoding | null } {
  return { keyPrefix: client.options.keyPrefix, replyEncoding: replyAsBuffer ? null : 'utf8' };
}

/** What a burst got back: each command's reply in its place, and the failures by position. */
export interface BurstReplies {
  /** The reply of each command that succeeded (`undefined` where it failed). */
  readonly replies: unknown[];
  /** The error of each command that failed (an error reply, or the connection failing). */
  readonly failures: Map<number, Error>;
}

/**
 * Sends `commands` in order as one socket write and waits for every reply; never rejects. With
 * the client not connected, each command fails (or waits in ioredis' offline queue) as it would
 * alone.
 */
export function sendBurst(client: Redis, commands: readonly BurstCommand[]): Promise<BurstReplies> {
  const answer: BurstReplies = {
    replies: new Array<unknown>(commands.length),
    failures: new Map(),
  };
  if (commands.length === 0) return Promise.resolve(answer);
  return new Promise((resolve) => {
    let waiting = commands.length;
    const tally: BurstTally = {
      reply(position, reply) {
        answer.replies[position] = reply;
        if (--waiting === 0) resolve(answer);
      },
      fail(position, error) {
        answer.failures.set(position, error);
        if (--waiting === 0) resolve(answer);
      },
    };
    FramedCommand.frameAll(commands);
    // `stream` is ioredis' socket (public in its types); absent before the first connect.
    const socket = client.stream as Writable | undefined;
    socket?.cork();
    try {
      commands.forEach((command, position) => {
        if (command.promiseless) {
          command.tally = tally;
          command.position = position;
        } else {
          command.promise.then(
            (reply: unknown) => tally.reply(position, reply),
            (error: unknown) => tally.fail(position, asError(error)),
          );
        }
        try {
          client.sendCommand(command);
        } catch (error: unknown) {
          command.reject(asError(error)); // fails alone
        }
      });
    } finally {
      socket?.uncork();
    }
  });
}

/** Sends one command on `client`; resolves with its reply. */
export function sendFramed(client: Redis, command: FramedCommand): Promise<unknown> {
  try {
    client.sendCommand(command);
  } catch (error: unknown) {
    command.reject(asError(error));
  }
  return command.promise;
}
