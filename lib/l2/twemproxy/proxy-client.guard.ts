import type { ChainableCommander, Command, Redis, RedisOptions } from 'ioredis';
import { CacheUnsupportedCommandError } from '../../errors/l2.errors.js';
import { assertProxyCommand, proxyCommandProblem, TOPOLOGY } from './proxy-commands.js';

/**
 * Patches an ioredis client so that it cannot send a command twemproxy would answer by closing
 * the connection (see proxy-commands.ts for which and why): the check runs where ioredis sends
 * and queues commands, before a byte is written. Catching the error afterwards would be too late.
 */

/** The parts of an ioredis client the guard replaces. */
interface GuardableClient {
  sendCommand(command: Command, stream?: unknown): unknown;
  pipeline(commands?: unknown[][]): ChainableCommander;
  multi(...args: unknown[]): unknown;
  duplicate(override?: Partial<RedisOptions>): Redis;
  monitor(...args: unknown[]): unknown;
}

/** A pipeline as seen by the guard: its own sendCommand queues a command. */
interface GuardablePipeline {
  sendCommand(command: Command): unknown;
}

/** The part of ioredis' internal pipeline write stream the guard needs. */
interface PipelineWriteStream {
  isPipeline?: boolean;
  write(data: string): void;
}

const GUARDED = Symbol('ndc.twemproxyGuard');

/**
 * Makes `client` unable to send a command twemproxy cannot take (see
 * {@link proxyCommandProblem}), without ever touching the socket:
 *
 * - a direct command (`client.scan(...)`, `client.call('INFO')`, `client.subscribe(...)`)
 *   returns a promise rejected with {@link CacheUnsupportedCommandError};
 * - queuing one on a pipeline (`client.pipeline().keys('*')`, or `pipeline([['keys', '*']])`)
 *   throws it at once, so the pipeline is never sent half-way;
 * - `multi()` and `monitor()` throw / reject (MULTI/EXEC and MONITOR are unsupported);
 * - `duplicate()` returns a guarded client too.
 *
 * Returns the same client. Idempotent.
 */
export function guardProxyClient(client: Redis): Redis {
  const target = client as unknown as GuardableClient & { [GUARDED]?: true };
  if (target[GUARDED]) return client;
  target[GUARDED] = true;

  const sendCommand = target.sendCommand.bind(client);
  target.sendCommand = (command: Command, stream?: unknown): unknown => {
    const problem = proxyCommandProblem(command.name, command.args);
    if (problem === undefined) return sendCommand(command, stream);
    command.reject(new CacheUnsupportedCommandError(command.name.toUpperCase(), TOPOLOGY, problem));
    const pipelineStream = stream as PipelineWriteStream | undefined;
    // NOTE: only reachable for a command queued on a pipeline the guard did not create (ours
    // check at queue time). The pipeline writes its buffer once every command has called
    // write(); an empty write keeps it from waiting forever for the refused one.
    if (pipelineStream?.isPipeline) pipelineStream.write('');
    return command.promise;
  };

  const pipeline = target.pipeline.bind(client);
  target.pipeline = (commands?: unknown[][]): ChainableCommander => {
    const created = pipeline();
    guardPipeline(created);
    // Queued through the guarded sendCommand: a refused command throws here, and the half-filled
    // pipeline is dropped unsent.
    if (commands !== undefined) {
      (created as unknown as { addBatch(commands: unknown[][]): void }).addBatch(commands);
    }
    return created;
  };

  target.multi = (): never => {
    throw new CacheUnsupportedCommandError(
      'MULTI',
      TOPOLOGY,
      'twemproxy has no transactions (MULTI/EXEC/WATCH) and closes the connection',
    );
  };

  target.monitor = (): Promise<never> =>
    Promise.reject(
      new CacheUnsupportedCommandError('MONITOR', TOPOLOGY, 'twemproxy does not support it'),
    );

  const duplicate = target.duplicate.bind(client);
  target.duplicate = (override?: Partial<RedisOptions>): Redis =>
    guardProxyClient(duplicate(override));

  return client;
}

/** Refuses, at queue time, a command the pipeline must never carry. */
function guardPipeline(pipeline: ChainableCommander): void {
  const target = pipeline as unknown as GuardablePipeline;
  const sendCommand = target.sendCommand.bind(pipeline);
  target.sendCommand = (command: Command): unknown => {
    assertProxyCommand(command.name, command.args);
    return sendCommand(command);
  };
}
