import { CacheError } from './cache.error.js';

/**
 * A Redis command was refused before it reached the socket because the topology cannot run it
 * safely: twemproxy closes the client connection on an unsupported command (killing everything
 * pipelined with it), and answers some multi-key commands silently wrong. Thrown (or rejected) by
 * the command guard of the twemproxy store; nothing was sent.
 */
export class CacheUnsupportedCommandError extends CacheError {
  constructor(
    /** The refused command, upper-case, e.g. `SCAN`, `EVAL`. */
    readonly command: string,
    /** Where it was refused, e.g. `twemproxy`. */
    readonly topology: string,
    /** Why it cannot be sent there. */
    readonly reason: string,
  ) {
    super(`${command} cannot be sent through ${topology}: ${reason} (nothing was sent)`);
  }
}
