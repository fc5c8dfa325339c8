import { CacheL2Error } from './cache-l2.error.js';

/** The circuit breaker is open: L2 was failing, so the call was not sent. */
export class CacheCircuitOpenError extends CacheL2Error {
  constructor(operation: string) {
    super(operation, `L2 ${operation} skipped: the circuit breaker is open (L2 has been failing)`);
  }
}
