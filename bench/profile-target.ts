/**
 * Runs one of our hot paths alone, for profiling with `node --cpu-prof` (no anchors in the
 * profile). Starts its own redis-server and stops it at the end. See bench/profile.md.
 *
 * Usage: node --cpu-prof --cpu-prof-dir=/tmp/ndc-profiles --import ./bench/register.js \
 *          bench/profile-target.ts WORKLOAD [--seconds N] [--concurrency N]
 *    or: node --import ./bench/register.js bench/profile-target.ts WORKLOAD --profile FILE
 *        (a profile of the workload's loop alone, without the start-up and the fill before it)
 *
 * WORKLOAD: l1-get | cacheable-hit | l2-get | durable-sets | durable-sets-twemproxy | set-call
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startRedis, startTwemproxy, stopAll } from './core/bench-servers.js';
import { runConcurrent } from './core/measure.js';
import { progress } from './core/progress.js';
import { makeKeys, makeValues } from './core/workload.js';
import { BenchCatalogue } from './scenarios/cacheable-hit.scenario.js';
import { redisOptions, startOurCache } from './subjects/our-cache.subject.js';

const WORKLOADS = [
  'l1-get',
  'cacheable-hit',
  'l2-get',
  'durable-sets',
  'durable-sets-twemproxy',
  'set-call',
] as const;
type Workload = (typeof WORKLOADS)[number];

const args = process.argv.slice(2);
const workload = args[0] as Workload | undefined;
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 5;
/** Calls in flight for l2-get (scenario c1 is 1, c100 100). */
const concurrencyAt = args.indexOf('--concurrency');
const concurrency = concurrencyAt >= 0 ? Number(args[concurrencyAt + 1]) : 100;
const profileAt = args.indexOf('--profile');
const profileFile = profileAt >= 0 ? args[profileAt + 1] : undefined;
if (workload === undefined || !WORKLOADS.includes(workload) || !(seconds > 0)) {
  process.stderr.write(
    `usage: profile-target.ts ${WORKLOADS.join('|')} [--seconds N] [--concurrency N] [--profile FILE]\n`,
  );
  process.exit(2);
}

/**
 * With `--profile FILE`: the CPU profile of the loop alone, from {@link loopStarts} on (the
 * instances a loop makes per pass are in it; Node's start-up and a fill before the loop are not),
 * written by {@link loopEnds}. Sampled every 100 µs.
 */
const session = profileFile === undefined ? undefined : new Session();
let loopCpu: NodeJS.CpuUsage | undefined;
let loopStartedAt = 0;
async function loopStarts(): Promise<void> {
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  loopStartedAt = performance.now();
  loopCpu = process.cpuUsage();
}
async function loopEnds(ops: number): Promise<void> {
  if (loopCpu === undefined) return;
  const cpu = process.cpuUsage(loopCpu);
  const elapsed = (performance.now() - loopStartedAt) / 1000;
  if (session !== undefined && profileFile !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
  progress(
    `${workload} loop alone: ${ops.toLocaleString('en-US')} ops in ${elapsed.toFixed(1)} s, ${((cpu.user + cpu.system) / ops).toFixed(1)} µs CPU/op${profileFile === undefined ? '' : `; profile in ${profileFile} (summary: bench/profile-summary.ts ${profileFile} --ops ${ops})`}`,
  );
}

const redis = await startRedis();
try {
  const deadline = performance.now() + seconds * 1000;
  let ops = 0;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  switch (workload) {
    case 'l1-get':
    case 'cacheable-hit': {
      const ours = await startOurCache(redisOptions(redis.url, 'profile'), [BenchCatalogue]);
      const keys = makeKeys('product:', 1024);
      const ids = keys.map((_, i) => String(i));
      const values = makeValues(1024);
      await ours.cache.mset(keys.map((key, i) => ({ key, value: values[i] })));
      const catalogue = ours.app.get(BenchCatalogue);
      await loopStarts();
      while (performance.now() < deadline) {
        if (workload === 'l1-get')
          for (let i = 0; i < 10_000; i++) await ours.cache.get(keys[i & 1023]!);
        else for (let i = 0; i < 10_000; i++) await catalogue.findOne(ids[i & 1023]!);
        ops += 10_000;
      }
      await ours.close();
      break;
    }
    case 'l2-get': {
      const total = 20_000;
      const keys = makeKeys('p:', total);
      const values = makeValues(total);
      const writer = await startOurCache(redisOptions(redis.url, 'profile'));
      await runConcurrent((i) => writer.cache.set(keys[i]!, values[i]), total, 100);
      await writer.cache.flush();
      await writer.close();
      await loopStarts();
      while (performance.now() < deadline) {
        // A fresh instance each pass: every read is an L1 miss and an L2 hit.
        const reader = await startOurCache(redisOptions(redis.url, 'profile'));
        await runConcurrent((i) => reader.cache.get(keys[i]!), total, concurrency);
        ops += total;
        await reader.close();
      }
      break;
    }
    case 'durable-sets': {
      const total = 100_000;
      const values = makeValues(total);
      let round = 0;
      await loopStarts();
      while (performance.now() < deadline) {
        const keys = makeKeys(`d${round++}:`, total);
        const ours = await startOurCache(redisOptions(redis.url, 'profile'));
        await runConcurrent((i) => ours.cache.set(keys[i]!, values[i]), total, 100);
        await ours.cache.flush();
        ops += total;
        await ours.close();
        await redis.cli('FLUSHALL');
      }
      break;
    }
    case 'durable-sets-twemproxy': {
      // Scenario e-sets' twemproxy row: (d) through nutcracker over 3 shards, bus off as there.
      const proxy = await startTwemproxy();
      const total = 100_000;
      const values = makeValues(total);
      let round = 0;
      await loopStarts();
      while (performance.now() < deadline) {
        const keys = makeKeys(`d${round++}:`, total);
        const ours = await startOurCache({
          namespace: 'profile',
          ttl: '5m',
          l2: { type: 'twemproxy', host: '127.0.0.1', port: proxy.port },
          invalidation: { enabled: false },
        });
        await runConcurrent((i) => ours.cache.set(keys[i]!, values[i]), total, 100);
        await ours.cache.flush();
        ops += total;
        await ours.close();
        for (const shard of proxy.shards) await shard.cli('FLUSHALL');
      }
      break;
    }
    case 'set-call': {
      // Scenario d-call's held-writes row: awaited set() calls, one at a time, no flush meanwhile.
      const total = 100_000;
      const values = makeValues(total);
      let round = 0;
      await loopStarts();
      while (performance.now() < deadline) {
        const keys = makeKeys(`s${round++}:`, total);
        const ours = await startOurCache(
          redisOptions(redis.url, 'profile', {
            writeBehind: {
              flushIntervalMs: 60_000,
              maxBatchSize: 2 * total,
              maxPending: 2 * total,
            },
          }),
        );
        for (let i = 0; i < total; i++) await ours.cache.set(keys[i]!, values[i]);
        ops += total;
        await ours.close();
        await redis.cli('FLUSHALL');
      }
      break;
    }
  }
  await loopEnds(ops);
  const elapsed = (performance.now() - started) / 1000;
  // This process's CPU per operation: steadier here than wall-clock rates, which loopback
  // scheduling makes swing by 2x between runs at one call at a time.
  const cpu = process.cpuUsage(cpuAtStart);
  progress(
    `${workload}: ${ops.toLocaleString('en-US')} ops in ${elapsed.toFixed(1)} s (${Math.round(ops / elapsed).toLocaleString('en-US')}/s), ${((cpu.user + cpu.system) / ops).toFixed(1)} µs CPU/op (set-up included)`,
  );
} finally {
  await stopAll();
}
