/**
 * `npm run bench`: starts its own Redis (and, for (e), nutcracker over 3 shards and a 3-master
 * Cluster; for (l), a master with one replica) on free loopback ports, runs scenarios (a)-(j) of
 * issue 8 for our cache and for the anchors, (k) of issue 14 (distributed single-flight, our cache
 * alone) and (l) of issue 15 (durable sets with writeBehind.replicas 0 and 1, our cache alone),
 * prints one table per scenario with the targets, and writes bench/results/NAME.json and NAME.svg.
 * Servers are stopped by PID at the end, on Ctrl-C and on errors.
 *
 * Each scenario runs in a child process of its own (same node flags), against the Redis the parent
 * started: so no scenario inherits another's JIT state, heap or process-wide switches (e.g.
 * async_hooks turned on by an AsyncLocalStorage), and `--only c` measures what a full run does.
 */
import 'reflect-metadata';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireBinary } from '../test/support/binaries.js';
import { ALL_SCENARIOS, parseBenchOptions, type BenchOptions } from './core/bench-options.js';
import { adminClient, startRedis, stopAll, track } from './core/bench-servers.js';
import { canCollectGarbage } from './core/measure.js';
import { elapsedSeconds, progress, STARTED_AT_ENV, startedAtEpochMs } from './core/progress.js';
import { renderReport, renderTarget, type ScenarioReport } from './core/report.js';
import { writeResults } from './core/results.js';
import { reason, type BenchContext, type RedisHandle, type Scenario } from './core/scenario.js';
const SCRIPT = fileURLToPath(import.meta.url);
const run = promisify(execFile);

/**
 * The scenarios, loaded lazily: a child process imports only its own scenario (and so only the
 * libraries that scenario needs), and the parent none.
 */
const SCENARIOS: ReadonlyArray<{ id: string; load(): Promise<Scenario> }> = [
  { id: 'a', load: async () => (await import('./scenarios/l1-hit.scenario.js')).l1HitScenario },
  {
    id: 'b',
    load: async () => (await import('./scenarios/cacheable-hit.scenario.js')).cacheableHitScenario,
  },
  { id: 'c', load: async () => (await import('./scenarios/l2-hit.scenario.js')).l2HitScenario },
  {
    id: 'd',
    load: async () => (await import('./scenarios/durable-sets.scenario.js')).durableSetsScenario,
  },
  {
    id: 'e',
    load: async () => (await import('./scenarios/topologies.scenario.js')).topologiesScenario,
  },
  {
    id: 'f',
    load: async () => (await import('./scenarios/stampede.scenario.js')).stampedeScenario,
  },
  { id: 'g', load: async () => (await import('./scenarios/heap.scenario.js')).heapScenario },
  {
    id: 'h',
    load: async () => (await import('./scenarios/mixed-zipf.scenario.js')).mixedZipfScenario,
  },
  {
    id: 'i',
    load: async () => (await import('./scenarios/invalidation.scenario.js')).invalidationScenario,
  },
  { id: 'j', load: async () => (await import('./scenarios/http.scenario.js')).httpScenario },
  {
    id: 'k',
    load: async () =>
      (await import('./scenarios/distributed-flight.scenario.js')).distributedFlightScenario,
  },
  {
    id: 'l',
    load: async () => (await import('./scenarios/replica-sets.scenario.js')).replicaSetsScenario,
  },
];

/** The parent: starts Redis, runs each scenario in a child, prints and writes the results. */
async function runParent(options: BenchOptions): Promise<number> {
  const selected = SCENARIOS.filter((s) => options.only.size === 0 || options.only.has(s.id));
  progress(
    `bench ${options.quick ? '--quick' : '(default sizes)'}: scenarios ${selected.map((s) => s.id).join(', ')} of ${ALL_SCENARIOS.join('')}, ${options.sizes.runs} runs each`,
  );
  if (!canCollectGarbage()) {
    progress(
      'warning: no global.gc (run node with --expose-gc): heap numbers and GC isolation are off',
    );
  }
  const redis = await startRedis();
  const reports: ScenarioReport[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'ndc-bench-'));
  let failures = 0;
  try {
    for (const scenario of selected) {
      progress(`(${scenario.id}) starting`);
      await redis.cli('FLUSHALL');
      const reportFile = join(scratch, `${scenario.id}.json`);
      let produced: ScenarioReport[];
      try {
        produced = await runChild(scenario.id, redis.port, reportFile);
      } catch (error: unknown) {
        failures++;
        progress(`(${scenario.id}) FAILED: ${reason(error)}`);
        produced = [
          {
            id: scenario.id,
            title: `scenario (${scenario.id})`,
            setup: `failed: ${reason(error)}`,
            metric: { label: 'ops/s', higherIsBetter: true, format: 'rate' },
            rows: [],
            targets: [],
          },
        ];
      }
      for (const report of produced) {
        reports.push(report);
        process.stdout.write(`\n${renderReport(report)}\n\n`);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await stopAll();
  }

  const targets = reports.flatMap((report) =>
    report.targets.map((check) => ({ id: report.id, check })),
  );
  process.stdout.write('Targets\n');
  for (const { id, check } of targets) process.stdout.write(`  (${id}) ${renderTarget(check)}\n`);
  const met = targets.filter((t) => t.check.met === true).length;
  const notMet = targets.filter((t) => t.check.met === false).length;
  process.stdout.write(
    `  ${met} met, ${notMet} not met, ${targets.length - met - notMet} not measured\n`,
  );

  const files = writeResults(options, reports, elapsedSeconds());
  progress(`done in ${elapsedSeconds().toFixed(0)} s; wrote ${files.join(', ')}`);
  return failures === 0 ? 0 : 1;
}

/** Runs one scenario in a child process (this script, same node flags) and returns its reports. */
async function runChild(
  id: string,
  redisPort: number,
  reportFile: string,
): Promise<ScenarioReport[]> {
  const args = [
    ...process.execArgv,
    SCRIPT,
    ...process.argv.slice(2),
    '--child',
    id,
    '--redis-port',
    String(redisPort),
    '--report-file',
    reportFile,
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, [STARTED_AT_ENV]: String(startedAtEpochMs()) },
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const untrack = track({
    label: `scenario ${id} (pid ${child.pid})`,
    stop: async () => {
      // The child stops the servers it started itself on SIGTERM.
      child.kill('SIGTERM');
      await exited;
    },
    killSync: () => child.kill('SIGKILL'),
  });
  try {
    const code = await exited;
    if (code !== 0) throw new Error(`scenario ${id} exited with code ${String(code)}`);
    return JSON.parse(readFileSync(reportFile, 'utf8')) as ScenarioReport[];
  } finally {
    untrack();
  }
}

/** The child: runs one scenario against the parent's Redis and writes its reports as JSON. */
async function runScenarioChild(
  options: BenchOptions,
  child: NonNullable<BenchOptions['child']>,
): Promise<number> {
  const entry = SCENARIOS.find((s) => s.id === child.id);
  if (entry === undefined) throw new Error(`unknown scenario '${child.id}'`);
  const scenario = await entry.load();
  progress(`(${scenario.id}) ${scenario.title}`);
  const redis = redisHandle(child.redisPort);
  const admin = adminClient(redis.port);
  const context: BenchContext = { options, redis, redisUrl: redis.url, admin };
  try {
    const reports = await scenario.run(context);
    writeFileSync(child.reportFile, JSON.stringify(reports));
    return 0;
  } finally {
    admin.disconnect();
    await stopAll();
  }
}

/** A handle on the parent's redis-server. */
function redisHandle(port: number): RedisHandle {
  const host = '127.0.0.1';
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    cli: async (...args: string[]) => {
      const { stdout } = await run(
        requireBinary('redis-cli'),
        ['-h', host, '-p', String(port), ...args],
        {
          timeout: 10_000,
        },
      );
      return stdout.replace(/\n$/, '');
    },
  };
}

async function main(): Promise<number> {
  const options = parseBenchOptions(process.argv.slice(2));
  return options.child ? runScenarioChild(options, options.child) : runParent(options);
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    progress(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    await stopAll();
    process.exit(1);
  },
);
