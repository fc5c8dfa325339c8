import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '../../test/support/free-port.js';
import { track } from '../core/bench-servers.js';
import { median } from '../core/measure.js';
import { formatValue, type Row, type RowKind, settleRows } from '../core/report.js';
import { interleave, type BenchContext, type Scenario } from '../core/scenario.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REGISTER = join(HERE, '..', 'register.js');
const SERVER = join(HERE, '..', 'http', 'http-server.main.ts');
const REPOSITORY_LATENCY_MS = 50;

interface Route {
  label: string;
  kind: RowKind;
  path: string;
  runs: number[];
  p50: number[];
  p99: number[];
}

/** Starts the HTTP server child and resolves once it printed READY. */
async function startServer(redisUrl: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', REGISTER, SERVER], {
    env: {
      ...process.env,
      PORT: String(port),
      REDIS_URL: redisUrl,
      CACHE_NAMESPACE: 'bench-j',
      REPOSITORY_LATENCY_MS: String(REPOSITORY_LATENCY_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const untrack = track({
    label: `http server ${pid}`,
    stop,
    killSync: () => {
      if (pid !== undefined && child.exitCode === null) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`the HTTP server did not start within 30 s: ${output}`)),
      30_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`the HTTP server exited with ${String(code)} before it was ready: ${output}`),
      );
    });
  });
  return {
    port,
    stop: async () => {
      await stop();
      untrack();
    },
  };
}

/**
 * (j) HTTP: autocannon against the sample app (started as a child process with Redis as L2): its
 * cached `GET /products/1` next to the same lookup uncached, the same behind @nestjs/cache-manager's
 * CacheInterceptor, and a constant-body route as the limit of Nest + Express here.
 */
export const httpScenario: Scenario = {
  id: 'j',
  title: 'HTTP: sample app, cached GET vs the same route uncached (autocannon)',
  async run(context: BenchContext) {
    const { sizes } = context.options;
    const routes: Route[] = [
      {
        label: 'GET /bench/constant (Nest route, constant body)',
        kind: 'limit',
        path: '/bench/constant',
        runs: [],
        p50: [],
        p99: [],
      },
      {
        label: 'GET /products/1 (sample route, ours: L1 hit)',
        kind: 'ours',
        path: '/products/1',
        runs: [],
        p50: [],
        p99: [],
      },
      {
        label: 'GET /cache-manager/products/1 (@nestjs/cache-manager CacheInterceptor)',
        kind: 'anchor',
        path: '/cache-manager/products/1',
        runs: [],
        p50: [],
        p99: [],
      },
      {
        label: `GET /uncached/products/1 (same lookup, no cache: repository ${REPOSITORY_LATENCY_MS} ms)`,
        kind: 'raw',
        path: '/uncached/products/1',
        runs: [],
        p50: [],
        p99: [],
      },
    ];
    const server = await startServer(context.redisUrl);
    const problems: string[] = [];
    try {
      await interleave('j', routes, sizes.runs, async (route, round) => {
        const result = await autocannon({
          url: `http://127.0.0.1:${server.port}${route.path}`,
          connections: sizes.httpConnections,
          duration: sizes.httpSeconds,
          pipelining: 1,
        });
        const failures = result.errors + result.timeouts + result.non2xx;
        if (failures > 0)
          problems.push(`${route.path} run ${round}: ${failures} errors/timeouts/non-2xx`);
        if (round > 0) {
          route.runs.push(result.requests.average);
          route.p50.push(result.latency.p50);
          route.p99.push(result.latency.p99);
        }
        return `${formatValue(result.requests.average, 'rate')} req/s, p99 ${result.latency.p99} ms${failures > 0 ? `, ${failures} failures` : ''}`;
      });
    } finally {
      await server.stop();
    }
    const rows: Row[] = settleRows(
      routes.map((route) => ({
        subject: route.label,
        kind: route.kind,
        runs: route.runs,
        p50Ms: median(route.p50),
        p99Ms: median(route.p99),
      })),
    );
    const cached = rows.find((row) => row.kind === 'ours')?.value;
    const uncached = rows.find((row) => row.subject.startsWith('GET /uncached'))?.value;
    return [
      {
        id: 'j',
        title: this.title,
        setup: `autocannon, ${sizes.httpConnections} connections, ${sizes.httpSeconds} s per run, ${sizes.runs} runs (+1 warm-up) per route, server in a child process (sample ProductsModule + its cache settings, REDIS_URL set), latencies: median of the runs' p50/p99`,
        metric: { label: 'req/s', higherIsBetter: true, format: 'rate' },
        latency: true,
        rows,
        notes: [
          ...(cached !== undefined && uncached !== undefined
            ? [`cached / uncached: ${(cached / uncached).toFixed(1)}x the requests per second`]
            : []),
          ...problems,
        ],
        targets: [],
      },
    ];
  },
};
