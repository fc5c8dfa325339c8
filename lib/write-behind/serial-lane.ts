/**
 * Runs tasks one at a time, in call order, each after every earlier one has settled (fulfilled or
 * rejected). The write-behind queue sends every L2 mutation of this instance through one lane, so
 * a delete issued while its key's batch is in flight lands after that batch.
 */
export class SerialLane {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every earlier task has settled; answers as `task` does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
