/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the top frames by self time, and the top
 * frames of the library (dist/ or lib/) by total (inclusive) time. See bench/profile.md.
 *
 * Usage: node --import ./bench/register.js bench/profile-summary.ts PROFILE.cpuprofile [--top N]
 *          [--ops N]
 *
 * With `--ops N` (the operations the profile covers, as `profile-target.ts --profile` prints),
 * each frame also shows its µs per operation.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function frameName(frame: CallFrame): string {
  let where = frame.url;
  if (where.startsWith('file://')) where = relative(process.cwd(), fileURLToPath(where));
  where = where.replace(/^node_modules\//, '');
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return where === '' ? name : `${name}  ${where}:${frame.lineNumber + 1}`;
}

function summarise(path: string, top: number, ops: number | undefined): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const totalUs = profile.timeDeltas.reduce((sum, delta) => sum + delta, 0);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    // Inclusive time: once per distinct frame on the stack (recursion counted once).
    const seen = new Set<string>();
    for (
      let current: number | undefined = id;
      current !== undefined;
      current = parent.get(current)
    ) {
      const frame = frameName(byId.get(current)!.callFrame);
      if (seen.has(frame)) continue;
      seen.add(frame);
      inclusive.set(frame, (inclusive.get(frame) ?? 0) + us);
    }
  }

  const pct = (us: number): string =>
    `${((us / totalUs) * 100).toFixed(1).padStart(5)}%` +
    (ops === undefined ? '' : `  ${(us / ops).toFixed(2).padStart(6)} µs/op`);
  const lines = [
    `${path}: ${(totalUs / 1000).toFixed(0)} ms sampled` +
      (ops === undefined ? '' : `, ${ops} ops (${(totalUs / ops).toFixed(1)} µs/op)`),
    '',
    `top ${top} frames by self time:`,
  ];
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(us)}  ${name}`);
  }
  const ours = [...inclusive].filter(([name]) => /\s(dist|lib)\//.test(name));
  lines.push('', `top ${top} library frames (dist/ or lib/) by total time:`);
  for (const [name, us] of ours.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(us)}  ${name}`);
  }
  return lines.join('\n');
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const opsAt = args.indexOf('--ops');
const ops = opsAt >= 0 ? Number(args[opsAt + 1]) : undefined;
const optionAt = new Set([topAt, topAt + 1, opsAt, opsAt + 1].filter((i) => i >= 0));
const files = args.filter((_arg, i) => !optionAt.has(i));
if (files.length === 0 || (ops !== undefined && !(ops > 0))) {
  process.stderr.write(
    'usage: node --import ./bench/register.js bench/profile-summary.ts PROFILE.cpuprofile [--top N] [--ops N]\n',
  );
  process.exit(2);
}
for (const file of files) process.stdout.write(`${summarise(file, top, ops)}\n\n`);
