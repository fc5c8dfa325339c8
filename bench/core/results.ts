import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary } from '../../test/support/binaries.js';
import type { BenchOptions } from './bench-options.js';
import type { ScenarioReport } from './report.js';
import { type MachineInfo, writeResultsMarkdown } from './results-markdown.js';
import { renderSvg } from './svg-chart.js';

/** bench/results/ */
const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis: firstLine(tryRun('redis-server', ['--version'])),
    nutcracker: firstLine(tryRun('nutcracker', ['--version'])),
    commit: firstLine(tryRun('git', ['rev-parse', '--short', 'HEAD'])),
  };
}

/**
 * Writes NAME.json and NAME.svg under bench/results/, and their markdown report (bench/RESULTS.md
 * for `latest`, bench/results/NAME.md otherwise), and returns their paths (relative to cwd).
 */
export function writeResults(
  options: BenchOptions,
  reports: readonly ScenarioReport[],
  durationSeconds: number,
): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const machine = machineInfo();
  const json = {
    machine,
    mode: options.quick ? 'quick' : 'default',
    durationSeconds: Math.round(durationSeconds),
    sizes: options.sizes,
    scenarios: reports,
    targets: reports.flatMap((report) =>
      report.targets.map((check) => ({ scenario: report.id, ...check })),
    ),
  };
  const jsonPath = join(RESULTS_DIR, `${options.outName}.json`);
  const svgPath = join(RESULTS_DIR, `${options.outName}.svg`);
  writeFileSync(
    jsonPath,
    `${JSON.stringify(json, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`,
  );
  const caption =
    `nestjs-distributed-cache bench (${options.quick ? '--quick' : 'default'}), ${machine.date.slice(0, 10)}: ` +
    `${machine.cores} x ${machine.cpu}, node ${machine.node}, redis ${/v=(\S+)/.exec(machine.redis)?.[1] ?? machine.redis}`;
  writeFileSync(svgPath, renderSvg(reports, caption));
  const markdownPath = writeResultsMarkdown(jsonPath);
  return [jsonPath, svgPath, markdownPath].map((path) => relative(process.cwd(), path));
}

/** stdout, else stderr, of a short command; `unknown` when it cannot run. */
function tryRun(command: string, args: string[]): string {
  const result = spawnSync(findBinary(command) ?? command, args, {
    encoding: 'utf8',
    timeout: 5_000,
  });
  if (result.error) return 'unknown';
  return result.stdout.trim() !== '' ? result.stdout : result.stderr;
}

function firstLine(value: string): string {
  return value.trim().split('\n')[0] ?? '';
}
