import { existsSync } from 'node:fs';
import { CLUSTER_BUS_PORT_OFFSET, freePorts } from '../../support/free-port.js';
import { isRunning } from '../../support/processes.js';
import { respCommand } from '../../support/resp.js';
import { RedisServer } from '../../support/redis-server.js';

describe('RedisServer', () => {
  let server: RedisServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('starts on a free loopback port, answers redis-cli, and stop() removes everything', async () => {
    server = await RedisServer.start();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.isRunning()).toBe(true);
    expect(await server.cli('SET', 'k', 'v')).toBe('OK');
    expect(await server.cli('GET', 'k')).toBe('v');
    expect(await server.cli('GET', 'missing')).toBe('');
    expect(await server.cli('CONFIG', 'GET', 'save')).toBe('save\n');
    const { pid, dir } = server;
    await server.stop();
    expect(isRunning(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('passes extra arguments to redis-server', async () => {
    server = await RedisServer.start({ args: ['--maxmemory', '12mb'] });
    expect(await server.cli('CONFIG', 'GET', 'maxmemory')).toBe('maxmemory\n12582912');
  });

  it('pause() hangs the server until resume()', async () => {
    server = await RedisServer.start();
    await server.pause();
    await expect(respCommand(server.port, ['PING'], { timeoutMs: 200 })).rejects.toThrow(
      /no reply/,
    );
    await server.resume();
    await expect(respCommand(server.port, ['PING'])).resolves.toBe('PONG');
  });

  it('stop() works on a paused server', async () => {
    server = await RedisServer.start();
    await server.pause();
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(server.isRunning()).toBe(false);
  });

  it('restart() after kill() comes back on the same port with a new process and no data', async () => {
    server = await RedisServer.start();
    await server.cli('SET', 'k', 'v');
    const { port, pid } = server;
    await server.kill();
    expect(isRunning(pid)).toBe(false);
    await expect(respCommand(port, ['PING'])).rejects.toThrow();
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    expect(await server.cli('GET', 'k')).toBe('');
  });

  it('restart() refuses to run while the server is up', async () => {
    server = await RedisServer.start();
    await expect(server.restart()).rejects.toThrow(/still running/);
  });
});

describe('freePorts()', () => {
  it('returns distinct ports, with their cluster bus ports free when asked', async () => {
    const ports = await freePorts(3, { withClusterBusPort: true });
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) expect(port + CLUSTER_BUS_PORT_OFFSET).toBeLessThanOrEqual(65_535);
  });
});
