import type { PendingWrite } from './pending-write.js';

/** Settings of the write-behind queue, already validated. */
export interface FlusherOptions {
  readonly flushIntervalMs: number;
  readonly maxBatchSize: number;
  readonly maxPending: number;
  readonly overflow: 'drop-oldest' | 'reject';
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Replicas each batch waits for (see BatchSender on what that changes here); 0 by default. */
  readonly replicas?: number;
}

/** What the write-behind queue reports; the tiered cache turns these into `events$`. */
export type FlusherSignal =
  | {
      readonly type: 'landed';
      readonly writes: readonly PendingWrite[];
      readonly durationMs: number;
    }
  | {
      readonly type: 'failed';
      readonly count: number;
      readonly attempt: number;
      readonly retryInMs: number;
      readonly error: unknown;
    }
  | {
      readonly type: 'dropped';
      readonly write: PendingWrite;
      readonly reason: 'overflow' | 'shutdown' | 'rejected';
      readonly error?: unknown;
    };
