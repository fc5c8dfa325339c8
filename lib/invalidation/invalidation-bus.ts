import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import { closeRedisClient, openRedisClient, settledWithin } from '../l2/redis/redis-connection.js';
import type { InvalidationTarget, LandedChange } from './invalidation-target.js';
import type { BusConnections } from './bus-connections.factory.js';
import { decodeInvalidation, encodeInvalidation } from './invalidation-message.js';

/** Counters of the bus, for `stats()` and health. */
export interface BusStats {
  published: number;
  received: number;
  /** Messages that were malformed or from another namespace. */
  ignored: number;
  publishErrors: number;
  /** Times the subscription came back after a drop (each one dropped L1). */
  resubscribes: number;
  /** Summed lag of received messages that carry their send time, in ms (see `at`). */
  lagMsTotal: number;
}

/**
 * Keeps other instances' L1 fresh. After a batch of this instance's writes (or a delete, a tag
 * invalidation, a clear) lands in L2, one message with the changed keys goes out on the
 * namespace's channel; every other instance drops those keys from its L1.
 *
 * Pub/sub is at-most-once: a message sent while a subscriber is disconnected is lost. So when the
 * subscription comes back after a drop, the subscriber drops its whole L1, and L1 entries live at
 * most `l1.ttl`: the worst-case staleness does not depend on delivery.
 */
export class InvalidationBus {
  readonly instanceId = randomUUID();
  readonly stats: BusStats = {
    published: 0,
    received: 0,
    ignored: 0,
    publishErrors: 0,
    resubscribes: 0,
    lagMsTotal: 0,
  };
  private subscribedOnce = false;
  private subscribed = false;
  /** The SUBSCRIBE sent on the latest `ready`, awaited by {@link start}. */
  private subscribing: Promise<void> | undefined;
  private landed: Subscription | undefined;
  private closed = false;
  /** How every message this instance publishes begins (encodeInvalidation keeps key order). */
  private readonly ownPrefix: string;

  constructor(
    private readonly connections: BusConnections,
    private readonly cache: InvalidationTarget,
    private readonly namespace: string,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    this.ownPrefix = `{"v":1,"ns":${JSON.stringify(namespace)},"src":${JSON.stringify(this.instanceId)}`;
  }

  /** Whether the subscription is live (for health checks). */
  get connected(): boolean {
    return this.subscribed;
  }

  /** Connects both clients (waiting at most `waitMs` for them) and starts announcing changes. */
  async start(waitMs = 2_000): Promise<void> {
    const { subscriber, publisher } = this.connections;
    subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    subscriber.on('ready', () => {
      this.subscribing = this.subscribe();
    });
    subscriber.on('close', () => {
      this.subscribed = false;
    });
    // Reconnects are the client's job; errors are reflected in `connected` and health.
    subscriber.on('error', () => undefined);
    publisher.on('error', () => undefined);
    this.landed = this.cache.landed$.subscribe((change) => void this.publish(change));
    const deadline = Date.now() + waitMs;
    await Promise.all([connectWithin(subscriber, waitMs), connectWithin(publisher, waitMs)]);
    // A ready subscriber has its SUBSCRIBE in flight: connected means subscribed, so wait for it.
    if (!this.subscribed && this.subscribing) {
      await settledWithin(this.subscribing, deadline - Date.now());
    }
    if (!this.subscribed) {
      this.logger.warn(
        `Invalidation bus (${this.connections.description}) not connected yet; it keeps retrying`,
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.landed?.unsubscribe();
    await Promise.all([quit(this.connections.subscriber), quit(this.connections.publisher)]);
  }

  private async subscribe(): Promise<void> {
    try {
      await this.connections.subscriber.subscribe(this.channel);
    } catch {
      return; // The next `ready` tries again.
    }
    if (this.closed) return;
    this.subscribed = true;
    if (this.subscribedOnce) {
      // Messages sent while we were away are lost: drop everything they could have invalidated.
      this.stats.resubscribes++;
      this.cache.dropLocal();
      this.logger.warn('Invalidation bus reconnected: L1 dropped (messages may have been lost)');
    }
    this.subscribedOnce = true;
  }

  private async publish(change: LandedChange): Promise<void> {
    if (change.keys.length === 0 && change.tags === undefined && change.clear === undefined) return;
    const message = encodeInvalidation({
      v: 1,
      ns: this.namespace,
      src: this.instanceId,
      ...(change.keys.length > 0 ? { k: change.keys } : {}),
      ...(change.tags !== undefined ? { t: change.tags } : {}),
      ...(change.clear !== undefined ? { c: change.clear } : {}),
      at: Date.now(),
    });
    try {
      await this.connections.publisher.publish(this.channel, message);
      this.stats.published++;
    } catch {
      // Lost messages are bounded by l1.ttl and the drop on resubscribe.
      this.stats.publishErrors++;
    }
  }

  private receive(channel: string, raw: string): void {
    if (channel !== this.channel) return;
    // Our own messages come back to us; recognise them without parsing (they can be large).
    if (raw.startsWith(this.ownPrefix)) return;
    const message = decodeInvalidation(raw);
    if (message === undefined || message.ns !== this.namespace) {
      this.stats.ignored++;
      return;
    }
    if (message.src === this.instanceId) return;
    this.stats.received++;
    if (message.at !== undefined) this.stats.lagMsTotal += Math.max(0, Date.now() - message.at);
    this.cache.applyRemoteChange({
      keys: message.k ?? [],
      ...(message.t !== undefined ? { tags: message.t } : {}),
      ...(message.c !== undefined ? { clear: message.c } : {}),
    });
  }
}

/**
 * Opens a bus client, settled after at most `waitMs` either way (the client keeps reconnecting).
 * A single-server client goes through the stores' own helper; a Cluster client has its own.
 */
async function connectWithin(client: BusConnections['publisher'], waitMs: number): Promise<void> {
  if (client instanceof Redis) return openRedisClient(client, waitMs);
  await settledWithin(client.connect(), waitMs);
}

/** Closes a bus client for good, leaving no socket or timer behind. */
async function quit(client: BusConnections['publisher']): Promise<void> {
  if (client instanceof Redis) return closeRedisClient(client, { quitTimeoutMs: 500 });
  await settledWithin(client.quit(), 500);
  client.disconnect();
}
