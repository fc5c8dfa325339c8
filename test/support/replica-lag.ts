import type { CacheEvent, CacheService } from '../../lib/index.js';
import { delay } from './poll.js';
import type { RedisServer } from './redis-server.js';

/**
 * Makes `replica` lag for real: frozen (SIGSTOP, for less than the failure detection of Sentinel
 * or Cluster) and its link dropped by the master, so that what the master acknowledges from now on
 * reaches no replica. A frozen replica alone is not enough: on loopback the master's stream waits
 * in the replica's socket buffer, and the replica reads it when it resumes, even after the master
 * died.
 */
export async function cutOff(replica: RedisServer, master: RedisServer): Promise<void> {
  await replica.pause();
  await master.cli('CLIENT', 'KILL', 'TYPE', 'replica');
}

/**
 * `count` writers calling `set()` on distinct keys (`w<writer>:<n>`, value `{ w, n }`), each about
 * 1,000 calls a second, until {@link stop}. Records when each call resolved, and the keys the cache
 * reported dropped, so a test can check every accepted, non-dropped write.
 */
export class DistinctWriters {
  /** Key -> when its set() resolved (epoch ms). */
  readonly accepted = new Map<string, number>();
  /** Namespaced keys reported by `drop` events. */
  readonly dropped = new Set<string>();
  /** Duration of each set() call, ms. */
  readonly setMs: number[] = [];
  private running = true;
  private readonly writers: Array<Promise<void>>;

  constructor(
    private readonly cache: CacheService,
    count: number,
  ) {
    cache.events$.subscribe((event: CacheEvent) => {
      if (event.type === 'drop') this.dropped.add(event.key);
    });
    this.writers = Array.from({ length: count }, (_, w) => this.write(w));
  }

  /** Stops the writers once their current call resolved. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.writers);
  }

  /** Accepted keys not reported dropped (`namespace`: the cache's, to match drop events). */
  kept(namespace: string): string[] {
    return [...this.accepted.keys()].filter((key) => !this.dropped.has(`${namespace}:${key}`));
  }

  /** Of `keys`, those accepted in the second before `at`. */
  acceptedInSecondBefore(keys: readonly string[], at: number): string[] {
    return keys.filter((key) => {
      const when = this.accepted.get(key)!;
      return when <= at && when > at - 1_000;
    });
  }

  private async write(w: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const key = `w${w}:${n}`;
      const started = performance.now();
      await this.cache.set(key, { w, n });
      this.setMs.push(performance.now() - started);
      this.accepted.set(key, Date.now());
      if (n % 2 === 1) await delay(1);
    }
  }
}
