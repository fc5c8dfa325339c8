import diagnosticsChannel from 'node:diagnostics_channel';
import { Command, Redis } from 'ioredis';
import {
  burstCommand,
  FramedCommand,
  framedCommand,
  sendBurst,
} from '../../../lib/l2/redis/command-burst.js';
import { RedisServer } from '../../support/redis-server.js';

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
});

afterAll(async () => {
  client.disconnect();
  await server.stop();
});

describe('FramedCommand', () => {
  it.each([
    ['strings only', 'get', ['key']],
    [
      'a Buffer value and a number',
      'set',
      ['k', Buffer.from([0xdc, 1, 0, 0xff]), 'PXAT', 1_800_000_000_123],
    ],
    ['an empty Buffer and an empty string', 'set', ['', Buffer.alloc(0)]],
    ['multi-byte text', 'set', ['clé:ü', Buffer.from('ünïcødé ✓'), 'PX', 10]],
    ...[9, 10, 99, 100, 1_000].map((n) => [`a ${n}-byte value`, 'set', ['k', Buffer.alloc(n, 7)]]),
  ] as Array<[string, string, Array<string | Buffer | number>]>)(
    'frames %s byte for byte as ioredis does',
    (_, name, args) => {
      const ours = new FramedCommand(name, [...args]).toWritable();
      const theirs = new Command(name, [...args]).toWritable({});
      expect(Buffer.isBuffer(ours)).toBe(true);
      expect(ours.equals(Buffer.from(theirs))).toBe(true);
    },
  );
});

describe('framedCommand() and burstCommand()', () => {
  const scriptArgs = (): Array<string | Buffer | number> => [
    'sha',
    2,
    'k1',
    'k2',
    Buffer.from([0xdc, 1]),
    1_800_000_000_123,
    '',
    '',
    'PXAT',
  ];

  it.each([
    ['framedCommand', framedCommand],
    ['burstCommand', burstCommand],
  ] as const)(
    '%s: the bytes, arguments and keys of ioredis’ own command, in an array of its own',
    (_, make) => {
      const args = scriptArgs();
      const ours = make(client, 'evalsha', args);
      const theirs = new Command('evalsha', scriptArgs(), { replyEncoding: 'utf8' });
      expect(ours.toWritable().equals(Buffer.from(theirs.toWritable({})))).toBe(true);
      expect(ours.args).toEqual(theirs.args); // the number as a string, as ioredis leaves it
      expect(ours.getKeys()).toEqual(['k1', 'k2']); // what a Cluster routes a redirect by
      args[2] = 'changed by the caller';
      expect(ours.args[2]).toBe('k1');
    },
  );
});

describe('FramedCommand.frameAll()', () => {
  it('frames a burst into one buffer, each command keeping exactly its own bytes', () => {
    const argLists: Array<Array<string | Buffer | number>> = [
      ['a', Buffer.from([0xdc, 1]), 'PXAT', 1_800_000_000_123],
      ['clé:ü', Buffer.alloc(0)],
      ['b', 'text', 'PX', 10],
    ];
    const burst = argLists.map((args) => new FramedCommand('set', [...args]));
    FramedCommand.frameAll(burst);
    const views = burst.map((command) => command.toWritable());
    argLists.forEach((args, i) => {
      expect(views[i]!.equals(Buffer.from(new Command('set', [...args]).toWritable({})))).toBe(
        true,
      );
    });
  });
});

describe('sendBurst()', () => {
  it('sends every command in order and reports each failure at its position only', async () => {
    await client.set('burst:text', 'not a number');
    const commands = [
      burstCommand(client, 'set', ['burst:a', Buffer.from('1')]),
      burstCommand(client, 'incr', ['burst:text']), // fails: not an integer
      burstCommand(client, 'incr', ['burst:a']), // runs after the first set: 2
      burstCommand(client, 'set', ['burst:b', Buffer.from('ü'), 'PX', 60_000]),
    ];
    const { failures, replies } = await sendBurst(client, commands);
    expect([...failures.keys()]).toEqual([1]);
    expect(replies).toEqual(['OK', undefined, 2, 'OK']);
    expect(String(failures.get(1))).toMatch(/not an integer/);
    expect(await client.get('burst:a')).toBe('2');
    expect(await client.get('burst:b')).toBe('ü');
    expect(await client.pttl('burst:b')).toBeGreaterThan(50_000);
  });

  it('gives each reply in its place, as a Buffer when asked', async () => {
    await client.set('burst:r', 'ü');
    const { replies, failures } = await sendBurst(client, [
      burstCommand(client, 'get', ['burst:r'], true),
      burstCommand(client, 'get', ['burst:missing'], true),
      burstCommand(client, 'get', ['burst:r']),
    ]);
    expect(failures.size).toBe(0);
    expect(replies).toEqual([Buffer.from('ü'), null, 'ü']);
  });

  it('applies the client key prefix as its own commands do', async () => {
    const prefixed = new Redis({ port: server.port, host: '127.0.0.1', keyPrefix: 'pre:' });
    try {
      const { failures } = await sendBurst(prefixed, [
        burstCommand(prefixed, 'set', ['burst:k', Buffer.from('v')]),
      ]);
      expect(failures.size).toBe(0);
      expect(await client.get('pre:burst:k')).toBe('v');
    } finally {
      prefixed.disconnect();
    }
  });

  it('fails every command at once, without hanging, on a client that is not connected', async () => {
    const closed = new Redis({
      port: server.port,
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
    });
    closed.disconnect();
    const commands = [1, 2, 3].map((i) => burstCommand(closed, 'set', [`burst:c${i}`, 'v']));
    const { failures } = await sendBurst(closed, commands);
    expect([...failures.keys()]).toEqual([0, 1, 2]);
    expect(await client.exists('burst:c1', 'burst:c2', 'burst:c3')).toBe(0);
  });

  it('fails a command that throws as it is sent alone, and still sends the others', async () => {
    const throwing = new Redis({ port: server.port, host: '127.0.0.1' });
    const send = throwing.sendCommand.bind(throwing);
    throwing.sendCommand = (command: Command) => {
      if (command.name === 'del') throw new TypeError('refused by a wrapper');
      return send(command);
    };
    try {
      const { failures } = await sendBurst(throwing, [
        burstCommand(throwing, 'set', ['burst:t1', 'v']),
        burstCommand(throwing, 'del', ['burst:t1']),
        burstCommand(throwing, 'set', ['burst:t2', 'w']),
      ]);
      expect([...failures.keys()]).toEqual([1]);
      expect(String(failures.get(1))).toMatch(/refused by a wrapper/);
      expect(await client.mget('burst:t1', 'burst:t2')).toEqual(['v', 'w']);
    } finally {
      throwing.disconnect();
    }
  });

  it('fails the commands still unanswered when the connection drops mid-burst, without hanging', async () => {
    const dropping = new Redis({
      port: server.port,
      host: '127.0.0.1',
      maxRetriesPerRequest: 0,
      disconnectTimeout: 50, // its socket's close waits on the paused server otherwise
    });
    try {
      await dropping.set('burst:d1', 'before');
      await client.call('CLIENT', 'PAUSE', '2000', 'WRITE'); // the sets wait in the server
      const sending = sendBurst(dropping, [
        burstCommand(dropping, 'get', ['burst:d1']),
        burstCommand(dropping, 'set', ['burst:d2', 'v']),
        burstCommand(dropping, 'set', ['burst:d3', 'v']),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const startedAt = performance.now();
      dropping.disconnect();
      const { replies, failures } = await sending;
      expect(performance.now() - startedAt).toBeLessThan(1_000);
      expect(replies[0]).toBe('before'); // answered before the pause held the writes
      expect([...failures.keys()]).toEqual([1, 2]);
    } finally {
      await client.call('CLIENT', 'UNPAUSE');
      dropping.disconnect();
    }
  });

  it("fails each command at ioredis' commandTimeout while the server holds it", async () => {
    const timed = new Redis({ port: server.port, host: '127.0.0.1', commandTimeout: 150 });
    try {
      await timed.ping();
      await client.call('CLIENT', 'PAUSE', '1000', 'WRITE');
      const startedAt = performance.now();
      const { failures } = await sendBurst(timed, [
        burstCommand(timed, 'set', ['burst:ct1', 'v']),
        burstCommand(timed, 'set', ['burst:ct2', 'v']),
      ]);
      expect(performance.now() - startedAt).toBeLessThan(800);
      expect([...failures.values()].map(String)).toEqual([
        expect.stringMatching(/timed out/),
        expect.stringMatching(/timed out/),
      ]);
    } finally {
      await client.call('CLIENT', 'UNPAUSE');
      timed.disconnect();
    }
  });

  it("answers as before while ioredis' command tracing has subscribers, each command traced to its reply", async () => {
    type Traced = { command: string; result?: unknown; error?: Error };
    const started: string[] = [];
    const ended: Array<[string, unknown]> = [];
    const tracing = diagnosticsChannel.tracingChannel<object, Traced>('ioredis:command');
    const subscribers = {
      start: (context: Traced) => void started.push(context.command),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (context: Traced) =>
        void ended.push([context.command, context.error?.message ?? context.result]),
      error: () => undefined,
    };
    tracing.subscribe(subscribers);
    try {
      const { replies, failures } = await sendBurst(client, [
        burstCommand(client, 'set', ['burst:tr', 'v']),
        burstCommand(client, 'incr', ['burst:tr']), // fails: not an integer
        burstCommand(client, 'get', ['burst:tr'], true),
      ]);
      expect(replies).toEqual(['OK', undefined, Buffer.from('v')]);
      expect([...failures.keys()]).toEqual([1]);
      expect(started).toEqual(['set', 'incr', 'get']);
      await new Promise((resolve) => setImmediate(resolve)); // the last span ends a tick later
      // Each span ends with its own reply, not when the command was written.
      expect(ended).toEqual([
        ['set', 'OK'],
        ['incr', expect.stringMatching(/not an integer/)],
        ['get', Buffer.from('v')],
      ]);
    } finally {
      tracing.unsubscribe(subscribers);
    }
  });

  it('resolves at once with nothing to send', async () => {
    expect(await sendBurst(client, [])).toEqual({ replies: [], failures: new Map() });
  });
});
