/**
 * Runs tasks one at a time, in call order, each after every earlier one has settled (fulfilled or
 * rejected). The write-behind queue sends every L2 mutation of this instance through one lane, so
 * a delete issued while its key's batch is in flight lands after that batch.
 */
export class SerialLane {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Whether a task waits for the running one (which should then finish soon). */
  get contended(): boolean {
    return this.waiting > 0;
  }

  /** Runs `task` after every earlier task has settled; answers as `task` does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting++;
    const start = (): Promise<T> => {
      this.waiting--;
      return task();
    };
    const run = this.tail.then(start, start);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
