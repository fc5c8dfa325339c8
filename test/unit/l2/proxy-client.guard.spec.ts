import { Redis, type Command } from 'ioredis';
import { CacheOptionsError } from '../../../lib/errors/cache.errors.js';
import { CacheUnsupportedCommandError } from '../../../lib/errors/l2.errors.js';
import { CacheError } from '../../../lib/errors/cache.errors.js';
import { guardProxyClient } from '../../../lib/l2/twemproxy/proxy-client.guard.js';
import {
  assertProxyCommand,
  proxyCommandProblem,
} from '../../../lib/l2/twemproxy/proxy-commands.js';
import { assertProxyCompatibleOptions } from '../../../lib/options/topology-rules.js';

/** A client that never connected (`lazyConnect`): any command that got through would connect it. */
function idleClient(): Redis {
  return guardProxyClient(
    new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false }),
  );
}

/** The rejection of `promise` (a value that is not a promise counts as "resolved"). */
async function rejectionOf(promise: unknown): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  return undefined;
}

describe('proxyCommandProblem()', () => {
  it.each([
    ['get', ['k']],
    ['SET', ['k', 'v', 'PX', '100']],
    ['mget', ['only-one']],
    ['del', ['a', 'b', 'c']],
    ['exists', ['a']],
    ['ping', []],
    ['eval', ['return 1', '1', 'k']],
    ['EVALSHA', ['abc', '2', '{t}a', 'x{t}b']],
    ['hgetall', ['h']],
  ])('lets %s %j through', (name, args) => {
    expect(proxyCommandProblem(name, args)).toBeUndefined();
  });

  it.each([
    ['scan', ['0'], /does not support it/],
    ['KEYS', ['*'], /closing the connection/],
    ['multi', [], /does not support/],
    ['info', [], /does not support/],
    ['select', ['1'], /does not support/],
    ['subscribe', ['c'], /does not support/],
    ['publish', ['c', 'm'], /does not support/],
    ['flushdb', [], /does not support/],
    ['rename', ['a', 'b'], /does not support/],
    ['sinter', ['a', 'b'], /does not support/],
    ['eval', ['return 1', '0'], /no key/],
    ['eval', ['return 1', 0], /no key/],
    ['eval', ['return 1', '2', 'a', 'b'], /different shards/],
    ['eval', ['return 1', '2', '{t}a', '{u}b'], /different shards/],
    ['eval', ['return 1', '2', '{}a', '{}b'], /different shards/],
    ['exists', ['a', 'b'], /first key/],
    ['mget', ['a', 'b'], /closes the client connection/],
    ['ping', ['hello'], /only without an argument/],
  ])('refuses %s %j', (name, args, reason) => {
    expect(proxyCommandProblem(name, args)).toMatch(reason);
  });
});

describe('assertProxyCommand()', () => {
  it('throws CacheUnsupportedCommandError naming the command, upper-case', () => {
    let error: unknown;
    try {
      assertProxyCommand('scan', ['0']);
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(CacheUnsupportedCommandError);
    expect(error).toBeInstanceOf(CacheError);
    expect(error).toMatchObject({ command: 'SCAN', topology: 'twemproxy' });
    expect((error as Error).message).toMatch(/^SCAN cannot be sent through twemproxy: /);
  });
});

describe('guardProxyClient()', () => {
  let client: Redis;
  beforeEach(() => {
    client = idleClient();
  });
  afterEach(() => {
    client.disconnect();
  });

  it('rejects refused direct commands without opening a connection', async () => {
    const calls: Array<[string, () => unknown]> = [
      ['SCAN', () => client.scan('0')],
      ['KEYS', () => client.keys('*')],
      ['INFO', () => client.info()],
      ['SELECT', () => client.select(2)],
      ['SUBSCRIBE', () => client.subscribe('c')],
      ['PUBLISH', () => client.publish('c', 'm')],
      ['EVAL', () => client.eval('return 1', 0)],
      ['CLIENT', () => client.call('CLIENT', 'SETNAME', 'x')],
      ['MONITOR', () => client.monitor()],
    ];
    for (const [command, call] of calls) {
      const error = await rejectionOf(call());
      expect([command, error]).toEqual([command, expect.any(CacheUnsupportedCommandError)]);
      expect((error as CacheUnsupportedCommandError).command).toBe(command);
    }
    // A command that got through would have made the lazy client connect.
    expect(client.status).toBe('wait');
  });

  it('throws when a refused command is queued on a pipeline, or MULTI is asked for', () => {
    const pipeline = client.pipeline().get('k');
    expect(() => pipeline.keys('*')).toThrow(CacheUnsupportedCommandError);
    expect(() => pipeline.mget('a', 'b')).toThrow(/MGET cannot be sent/);
    expect(() =>
      client.pipeline([
        ['get', 'k'],
        ['scan', '0'],
      ]),
    ).toThrow(/SCAN/);
    expect(() => client.multi()).toThrow(/MULTI cannot be sent through twemproxy/);
    expect(pipeline.length).toBe(1);
    expect(client.status).toBe('wait');
  });

  it('guards duplicates too, and is idempotent', async () => {
    const copy = client.duplicate();
    try {
      expect(guardProxyClient(client)).toBe(client);
      expect(await rejectionOf(copy.scan('0'))).toBeInstanceOf(CacheUnsupportedCommandError);
      expect(copy.status).toBe('wait');
    } finally {
      copy.disconnect();
    }
  });

  it('hands allowed commands, direct or pipelined, to ioredis unchanged', async () => {
    const raw = new Redis({ lazyConnect: true });
    const sent: string[] = [];
    // Stands in for the socket: records what reached ioredis' sendCommand and answers OK.
    (raw as unknown as { sendCommand: (command: Command) => unknown }).sendCommand = (command) => {
      sent.push(`${command.name} ${command.args.join(' ')}`);
      command.resolve(Buffer.from('OK'));
      return command.promise;
    };
    guardProxyClient(raw);
    await raw.set('k', 'v', 'PX', 100);
    await raw.get('k');
    await rejectionOf(raw.scan('0'));
    expect(sent).toEqual(['set k v PX 100', 'get k']);
    raw.disconnect();
  });
});

describe('assertProxyCompatibleOptions()', () => {
  it.each([
    ['db', { db: 3 }],
    ['connectionName', { connectionName: 'api' }],
    ['enableReadyCheck', { enableReadyCheck: true }],
    ['disableClientInfo', { disableClientInfo: false }],
    ['protocol', { protocol: 3 as const }],
    ['readOnly', { readOnly: true }],
    ['sentinels', { sentinels: [{ host: 'h', port: 1 }] }],
  ])('refuses %s, naming the option under the given path', (option, redis) => {
    let error: unknown;
    try {
      assertProxyCompatibleOptions(redis, 'l2.redis');
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(CacheOptionsError);
    expect((error as CacheOptionsError).option).toBe(`l2.redis.${option}`);
    expect((error as Error).message).toContain(
      `l2.redis.${option} cannot be used with l2.type 'twemproxy'`,
    );
  });

  it('accepts options that work through a proxy', () => {
    expect(() =>
      assertProxyCompatibleOptions({
        db: 0,
        password: 'pw',
        keyPrefix: 'p:',
        connectTimeout: 100,
        enableReadyCheck: false,
        disableClientInfo: true,
        protocol: 2,
      }),
    ).not.toThrow();
    expect(() => assertProxyCompatibleOptions(undefined)).not.toThrow();
  });
});
