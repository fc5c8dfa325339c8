import { CacheL2Error } from './cache-l2.error.js';

/**
 * A write the store refused before sending it (e.g. a TTL Redis cannot express): sending it
 * again can never succeed, so the write-behind queue drops and reports it instead of retrying.
 */
export class CacheUnsendableWriteError extends CacheL2Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super('write', `set of key ${JSON.stringify(key)} not sent: ${problem}`);
  }
}
