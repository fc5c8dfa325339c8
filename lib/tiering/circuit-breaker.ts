import { Subject, type Observable } from 'rxjs';

/** `closed`: calls go to L2. `open`: calls fail at once. `half-open`: one probe call decides. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Settings of the breaker, already validated. */
export interface BreakerOptions {
  /** Consecutive failed or timed-out L2 calls that open the breaker. */
  readonly failureThreshold: number;
  /** Milliseconds the breaker stays open before letting one probe call through. */
  readonly cooldownMs: number;
}

/** What `admit()` decided for one call. */
export type Admission = 'pass' | 'probe' | 'reject';

/**
 * Stops sending calls to an L2 that keeps failing, so requests do not each wait `l2TimeoutMs`
 * for a dead or hung Redis: after `failureThreshold` consecutive failures it opens and calls
 * fail at once (reads miss, writes stay queued); after `cooldownMs` one call goes through as a
 * probe; its outcome closes the breaker or opens it for another cool-down.
 *
 * Only the probe decides while not closed: calls admitted before the breaker opened and
 * answering late do not flip it.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private readonly changes = new Subject<BreakerState>();
  /** How many times the breaker opened. */
  opens = 0;

  /** Every state change. */
  readonly changes$: Observable<BreakerState> = this.changes.asObservable();

  constructor(private readonly options: BreakerOptions | false) {}

  get state(): BreakerState {
    return this.current;
  }

  admit(): Admission {
    if (this.options === false || this.current === 'closed') return 'pass';
    if (this.current === 'open' && performance.now() - this.openedAt >= this.options.cooldownMs) {
      this.set('half-open');
      return 'probe';
    }
    return 'reject';
  }

  /** Records the outcome of a call admitted as `admission`. */
  record(admission: Admission, ok: boolean): void {
    if (this.options === false || admission === 'reject') return;
    if (admission === 'probe') {
      if (ok) {
        this.failures = 0;
        this.set('closed');
      } else {
        this.open();
      }
      return;
    }
    if (this.current !== 'closed') return;
    if (ok) {
      this.failures = 0;
    } else if (++this.failures >= this.options.failureThreshold) {
      this.open();
    }
  }

  private open(): void {
    this.openedAt = performance.now();
    this.failures = 0;
    if (this.current !== 'open') this.opens++;
    this.set('open');
  }

  private set(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    this.changes.next(state);
  }
}
