import { createServer } from 'node:net';

/** Options of {@link freePort} and {@link freePorts}. */
export interface FreePortOptions {
  /**
   * Also require `port + 10000` to be free, as Redis Cluster binds its bus there.
   * @default false
   */
  withClusterBusPort?: boolean;
}

/** Offset of the Redis Cluster bus port from the client port. */
export const CLUSTER_BUS_PORT_OFFSET = 10_000;

const HOST = '127.0.0.1';
const MAX_ATTEMPTS = 50;

/** Binds `port` (0: any) on 127.0.0.1 and resolves with the bound port, keeping it held. */
function hold(port: number): Promise<{ port: number; release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: HOST, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the bound address on ${HOST}`));
        return;
      }
      resolve({
        port: address.port,
        release: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/**
 * Ports that were free on 127.0.0.1 a moment ago, all distinct (each, and with
 * `withClusterBusPort` its bus port, is held until all are found, then released).
 *
 * NOTE: a port is free only until someone else binds it; callers that start a server on it
 * should retry with a new port when the bind fails (RedisServer does).
 */
export async function freePorts(count: number, options: FreePortOptions = {}): Promise<number[]> {
  const held: Array<{ port: number; release: () => Promise<void> }> = [];
  try {
    const ports: number[] = [];
    let attempts = 0;
    while (ports.length < count) {
      if (++attempts > MAX_ATTEMPTS * count) {
        throw new Error(`could not find ${count} free port(s) on ${HOST}`);
      }
      const main = await hold(0);
      held.push(main);
      if (options.withClusterBusPort) {
        const busPort = main.port + CLUSTER_BUS_PORT_OFFSET;
        if (busPort > 65_535) continue;
        try {
          held.push(await hold(busPort));
        } catch {
          continue;
        }
      }
      ports.push(main.port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((h) => h.release()));
  }
}

/** A port that was free on 127.0.0.1 a moment ago. See {@link freePorts}. */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  const [port] = await freePorts(1, options);
  if (port === undefined) throw new Error('freePorts(1) returned no port');
  return port;
}
