import 'reflect-metadata';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Registry } from 'prom-client';
import request from 'supertest';
import { ObservabilityModule } from '../../../sample-app/src/observability/observability.module.js';
import { waitFor } from '../../support/poll.js';
import { RedisServer } from '../../support/redis-server.js';
import { startSampleApp } from '../../support/sample-app.js';

const DOWN_AFTER_MS = 1_500;

let redis: RedisServer;
let app: INestApplication | undefined;
let logged: string[] = [];

/** Keeps `level context: message` lines, to check what the library logs and how often. */
const recorder: LoggerService = {
  log: (message: unknown, context?: string) =>
    logged.push(`log ${String(context)}: ${String(message)}`),
  warn: (message: unknown, context?: string) =>
    logged.push(`warn ${String(context)}: ${String(message)}`),
  error: (message: unknown) => logged.push(`error ${String(message)}`),
};

function startInstance(): Promise<INestApplication> {
  return startSampleApp({
    redisUrl: redis.url,
    namespace: 'health-e2e',
    logger: recorder,
    imports: [
      ObservabilityModule.forRoot({
        metrics: { registry: new Registry() },
        health: { downAfterMs: DOWN_AFTER_MS, probeIntervalMs: 100, probeTimeoutMs: 200 },
      }),
    ],
  });
}

interface CacheHealth {
  status: 'up' | 'down';
  reasons: string[];
  l2: { reachable: boolean; unreachableForMs: number };
  bus: string;
  queue: { pending: number; maxPending: number };
  breaker: string;
}

async function health(): Promise<{ code: number; cache: CacheHealth; ms: number }> {
  const started = Date.now();
  const res = await request(app!.getHttpServer()).get('/health');
  const body = res.body as { details: { cache: CacheHealth } };
  return { code: res.status, cache: body.details.cache, ms: Date.now() - started };
}

beforeEach(async () => {
  logged = [];
  redis = await RedisServer.start();
  app = await startInstance();
});

afterEach(async () => {
  await redis.resume();
  await app?.close();
  app = undefined;
  await redis.stop();
});

describe('sample app GET /health (terminus)', () => {
  it('reports L2, bus, queue and breaker while Redis answers', async () => {
    const up = await waitFor(async () => {
      const h = await health();
      return h.code === 200 && h.cache.bus === 'connected' ? h : undefined;
    });
    expect(up.cache).toMatchObject({
      status: 'up',
      reasons: [],
      l2: { reachable: true, unreachableForMs: 0 },
      bus: 'connected',
      queue: { pending: 0, maxPending: 100_000 },
      breaker: 'closed',
    });
  });

  it('goes down only once Redis has been SIGSTOPped past downAfterMs, and up after SIGCONT', async () => {
    await waitFor(async () => (await health()).code === 200);
    await redis.pause();
    const pausedAt = Date.now();

    // A failed probe alone is not "down": L2 shows unreachable while the status stays up.
    const early = await waitFor(async () => {
      const h = await health();
      return !h.cache.l2.reachable ? h : undefined;
    });
    expect(early.code).toBe(200);
    expect(early.cache.status).toBe('up');

    const down = await waitFor(
      async () => {
        const h = await health();
        return h.code === 503 ? h : undefined;
      },
      { timeoutMs: 10_000, message: '/health to answer 503' },
    );
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(DOWN_AFTER_MS);
    expect(down.cache.status).toBe('down');
    expect(down.cache.reasons[0]).toMatch(/^L2 unreachable for \d+ ms/);
    // Probes run in the background: a health request does not wait on the hung Redis.
    expect(down.ms).toBeLessThan(1_000);

    await redis.resume();
    const up = await waitFor(
      async () => {
        const h = await health();
        return h.code === 200 ? h : undefined;
      },
      { timeoutMs: 10_000, message: '/health to answer 200 after SIGCONT' },
    );
    expect(up.cache).toMatchObject({ status: 'up', l2: { reachable: true } });

    // One line per change, with the library's context, however many health requests were made.
    const healthLines = logged.filter((line) => line.includes('Cache health'));
    expect(healthLines).toEqual([
      expect.stringMatching(
        /^warn DistributedCache: Cache health is down: L2 unreachable for \d+ ms/,
      ),
      'log DistributedCache: Cache health is up again',
    ]);
  });
});
