/**
 * Remembers since when a condition has been bad, so health turns "down" only after it stayed bad
 * for a while, not on one slow call or one full moment. Internal.
 */
export class DownSince {
  private since: number | undefined;

  /** Records an observation made at `now` (epoch milliseconds). */
  observe(ok: boolean, now: number): void {
    if (ok) this.since = undefined;
    else this.since ??= now;
  }

  /** When the condition went bad, or `undefined` while it is fine. */
  get downSince(): number | undefined {
    return this.since;
  }

  /** Milliseconds it has been bad at `now`; 0 while it is fine. */
  downForMs(now: number): number {
    return this.since === undefined ? 0 : Math.max(0, now - this.since);
  }
}
