import { Observable, audit, auditTime, filter, merge } from 'rxjs';
import type { FlusherOptions } from './flusher-signal.js';

/**
 * Emits once on the next turn of the event loop (`setImmediate`): after the current task and
 * every promise job it queued.
 */
const nextTurn$ = new Observable<void>((subscriber) => {
  const handle = setImmediate(() => {
    subscriber.next();
    subscriber.complete();
  });
  return () => clearImmediate(handle);
});

/**
 * The moments a drain of the write-behind queue starts: `flushIntervalMs` after the first write
 * of a quiet period (`enqueued$`), the next turn of the event loop once `maxBatchSize` writes are
 * queued, and every `kick$` (a flush, or something fell due). The flusher runs one drain at a time
 * and ignores triggers meanwhile, since a drain takes everything queued.
 */
export function drainTriggers$(
  enqueued$: Observable<void>,
  kick$: Observable<void>,
  queuedSize: () => number,
  options: Pick<FlusherOptions, 'flushIntervalMs' | 'maxBatchSize'>,
): Observable<void> {
  return merge(
    enqueued$.pipe(auditTime(options.flushIntervalMs)),
    // A full batch leaves on the next turn of the event loop rather than inside the set() that
    // filled it: a burst of set() calls (one task, many awaits) is not slowed by building and
    // sending batches; they go out right after it.
    enqueued$.pipe(
      filter(() => queuedSize() >= options.maxBatchSize),
      audit(() => nextTurn$),
    ),
    kick$,
  );
}

/**
 * One timer for the earliest moment something held back falls due (a parked write's backoff, a
 * follow-up), re-armed after every send: one timer for the whole queue, not one per write.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private at = Infinity;

  constructor(private readonly onDue: () => void) {}

  /** Arms the timer for `at` (epoch ms), unless `at` is `Infinity` or the timer is due as early. */
  arm(at: number): void {
    if (at === Infinity || at >= this.at) return;
    clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
    // A cache must never keep the process alive.
    this.timer.unref();
  }

  /** Stops the timer (the queue closed). */
  stop(): void {
    clearTimeout(this.timer);
  }

  private fire(): void {
    this.timer = undefined;
    this.at = Infinity;
    this.onDue();
  }
}
