import type { Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { SentinelL2Options } from '../../options/cache-options.interface.js';
import { reconnectDelayMs } from '../redis/redis-client.factory.js';

/** Default longest pause of writes for one failover, in milliseconds. */
const FAILOVER_PAUSE_MAX_MS = 5_000;

/**
 * Sentinel events the watch listens to (PSUBSCRIBE patterns): the start of a failover, its end
 * (the switch), and the ways it can stop without one.
 */
const PATTERNS = [
  '+try-failover',
  '+switch-master',
  '-failover-abort*',
  '+failover-end-for-timeout',
];

/**
 * Pauses writes while Sentinel fails the master over. NOTE: ioredis' failover detector reconnects
 * on `+switch-master`, but Sentinel publishes that ~1 s after it told the replica to stop
 * replicating (REPLICAOF NO ONE, then waiting for the promotion in INFO); in between, the old
 * master still acknowledges writes, and the failover discards them (measured on Redis 7.0 with
 * `SENTINEL FAILOVER`). So writes pause from `+try-failover` until the client is ready on the new
 * master (or the failover aborts, or `maxPauseMs` passes); the write-behind queue holds them and
 * sends them to the new master afterwards.
 *
 * One subscriber connection per Sentinel, closed by {@link stop}.
 */
export class SentinelFailoverWatch {
  private readonly subscribers: Redis[];
  private pausedUntil = 0;
  /** The new master's address once `+switch-master` was seen, until the client is ready on it. */
  private switchedTo: { host: string; port: number } | undefined;
  private readonly onReady = (): void => this.resumeIfSwitched();

  /**
   * @param client The store's data client: writes resume once it is ready on the new master.
   * @param maxPauseMs Longest pause for one failover, in milliseconds.
   */
  constructor(
    private readonly client: Redis,
    private readonly options: SentinelL2Options,
    private readonly maxPauseMs = FAILOVER_PAUSE_MAX_MS,
    onError: (error: Error) => void = () => undefined,
  ) {
    const redis: RedisOptions = options.redis ?? {};
    this.subscribers = options.sentinels.map((sentinel) => {
      const subscriber = new Redis({
        host: sentinel.host,
        port: sentinel.port,
        username: redis.sentinelUsername,
        password: redis.sentinelPassword,
        tls: redis.sentinelTLS,
        connectTimeout: redis.connectTimeout ?? 2_000,
        lazyConnect: true,
        enableReadyCheck: false,
        protocol: 2,
        // A Sentinel that restarts is subscribed to again within 2 s.
        retryStrategy: (times) => reconnectDelayMs(times),
        maxRetriesPerRequest: null,
      });
      subscriber.on('error', onError);
      subscriber.on('pmessage', (_pattern: string, channel: string, message: string) =>
        this.onEvent(channel, message),
      );
      return subscriber;
    });
    client.on('ready', this.onReady);
  }

  /** Whether writes must wait now. */
  get writesPaused(): boolean {
    return performance.now() < this.pausedUntil;
  }

  /** Connects to the Sentinels and subscribes; resolves when done or failed (never rejects). */
  async start(): Promise<void> {
    await Promise.all(
      this.subscribers.map((subscriber) =>
        subscriber.psubscribe(...PATTERNS).catch(() => undefined),
      ),
    );
  }

  /** Closes every Sentinel connection. */
  stop(): void {
    this.client.off('ready', this.onReady);
    for (const subscriber of this.subscribers) subscriber.disconnect();
  }

  private onEvent(channel: string, message: string): void {
    const words = message.split(' ');
    if (channel === '+switch-master') {
      // `<name> <old ip> <old port> <new ip> <new port>`
      if (words[0] !== this.options.name) return;
      this.switchedTo = { host: words[3] ?? '', port: Number(words[4]) };
      this.resumeIfSwitched();
      return;
    }
    // `master <name> <ip> <port>` for events about the master itself.
    if (words[0] !== 'master' || words[1] !== this.options.name) return;
    if (channel === '+try-failover') {
      this.switchedTo = undefined;
      this.pausedUntil = performance.now() + this.maxPauseMs;
    } else {
      // Aborted, or ended by timeout without a switch: the master stays.
      this.pausedUntil = 0;
    }
  }

  /** Resumes writes once the client is connected, and ready, to the master named by the switch. */
  private resumeIfSwitched(): void {
    if (this.switchedTo === undefined || this.client.status !== 'ready') return;
    const socket = this.client.stream as Socket | undefined;
    if (socket?.remotePort !== this.switchedTo.port) return;
    // IPv4 peers may show as `::ffff:a.b.c.d`. NOTE: behind a natMap the addresses differ and
    // writes stay paused until `maxPauseMs`.
    if (!socket.remoteAddress?.endsWith(this.switchedTo.host)) return;
    this.switchedTo = undefined;
    this.pausedUntil = 0;
  }
}
