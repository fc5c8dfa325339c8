import { Redis } from 'ioredis';
import { probeServer } from '../../../lib/l2/redis/server-probe.js';
import { createTwemproxyClient } from '../../../lib/l2/twemproxy/twemproxy.store.js';
import { RedisServer } from '../../support/redis-server.js';
import { Twemproxy } from '../../support/twemproxy.js';

/**
 * probeServer() against real servers: a Redis 7 takes `SET ... PXAT`, and its clock, on this
 * host, is measured within a few milliseconds of ours; the probe works through twemproxy (which
 * closes the connection on `TIME`: the probe reads the time inside a one-key script) and where
 * scripts are refused (then only PXAT is probed). A probe leaves no key behind.
 */
const PREFIX = 'probe-spec:';
/** Both clocks are this host's: the offset is half a loopback round trip plus rounding. */
const SAME_HOST_OFFSET_MS = 50;

/** Set SHOW_TIMINGS=1 to print the measured offsets. */
const showTimings = process.env['SHOW_TIMINGS'] === '1';
const report = (what: string): void => {
  if (showTimings) console.info(what);
};

let redis: RedisServer;
let proxy: Twemproxy;
const clients: Redis[] = [];

async function client(
  port: number,
  options: { username?: string; password?: string } = {},
): Promise<Redis> {
  const redisClient = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    ...options,
  });
  clients.push(redisClient);
  await redisClient.connect();
  return redisClient;
}

/** Disconnects `redisClient` and resolves once its socket is closed (no timer left behind). */
function closed(redisClient: Redis): Promise<void> {
  if (redisClient.status === 'end') return Promise.resolve();
  return new Promise<void>((resolve) => {
    redisClient.once('end', () => resolve());
    redisClient.disconnect();
  });
}

/** Keys under the probe's prefix on `server`. */
async function leftovers(server: RedisServer): Promise<string> {
  return server.cli('--scan', '--pattern', `${PREFIX}*`);
}

beforeAll(async () => {
  redis = await RedisServer.start();
  proxy = await Twemproxy.start({ shards: 2 });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map(closed));
});

afterAll(async () => {
  await proxy.stop();
  await redis.stop();
});

describe('probeServer()', () => {
  it('reports PXAT support and a clock offset within ±50 ms on a local Redis 7', async () => {
    const traits = await probeServer(await client(redis.port), PREFIX);
    report(`Redis ${redis.port}: pxat ${traits.pxat}, clock offset ${traits.clockOffsetMs} ms`);
    expect(traits.pxat).toBe(true);
    expect(traits.clockOffsetMs).toEqual(expect.any(Number));
    expect(Math.abs(traits.clockOffsetMs!)).toBeLessThanOrEqual(SAME_HOST_OFFSET_MS);
    expect(await leftovers(redis)).toBe('');
  });

  it('reports the same through twemproxy, whose connection survives the probe', async () => {
    // The client the twemproxy store uses: guarded against commands the proxy closes it for.
    const proxyClient = createTwemproxyClient({ host: proxy.host, port: proxy.port });
    clients.push(proxyClient);
    await proxyClient.connect();
    const traits = await probeServer(proxyClient, PREFIX);
    report(`twemproxy ${proxy.port}: pxat ${traits.pxat}, clock offset ${traits.clockOffsetMs} ms`);
    expect(traits.pxat).toBe(true);
    expect(Math.abs(traits.clockOffsetMs!)).toBeLessThanOrEqual(SAME_HOST_OFFSET_MS);
    // The same connection still answers: the probe sent nothing the proxy closes it for.
    await proxyClient.set(`${PREFIX}after`, '1');
    expect(await proxyClient.get(`${PREFIX}after`)).toBe('1');
    await proxyClient.del(`${PREFIX}after`);
    for (const shard of proxy.shards) expect(await leftovers(shard)).toBe('');
  });

  it('reports PXAT support and no offset when scripts are refused', async () => {
    await redis.cli('ACL', 'SETUSER', 'noscripts', 'on', '>pw', '~*', '+@all', '-@scripting');
    const restricted = await client(redis.port, { username: 'noscripts', password: 'pw' });
    try {
      await expect(restricted.eval('return 1', 0)).rejects.toThrow(/NOPERM/);
      const traits = await probeServer(restricted, PREFIX);
      expect(traits).toEqual({ pxat: true, clockOffsetMs: undefined });
      expect(await leftovers(redis)).toBe('');
    } finally {
      // Closed first: deleting the user would drop the connection and make it retry the login.
      await restricted.quit();
      await redis.cli('ACL', 'DELUSER', 'noscripts');
    }
  });

  it('rejects when the server cannot be reached', async () => {
    const unreachable = await client(redis.port);
    await closed(unreachable);
    await expect(probeServer(unreachable, PREFIX)).rejects.toThrow();
  });
});
