import { median } from './measure.js';

/** What a row measures: our cache, an alternative, a raw client, or the physical limit. */
export type RowKind = 'ours' | 'anchor' | 'raw' | 'limit';

/** One subject of a scenario. */
export interface Row {
  subject: string;
  kind: RowKind;
  /** The scenario's main metric: the median over `runs`. */
  value?: number;
  /** The main metric of each measured run. */
  runs?: number[];
  p50Ms?: number;
  p99Ms?: number;
  /** More columns, by header (already formatted). */
  cells?: Record<string, string>;
  /** Why the subject could not be measured (the row prints "not available"). */
  unavailable?: string;
}

/** The main metric of a scenario. */
export interface Metric {
  /** Column header, e.g. `ops/s`. */
  label: string;
  higherIsBetter: boolean;
  /** Formats a value of this metric. */
  format: 'rate' | 'ms' | 'bytes' | 'count' | 'seconds';
  /** How the runs are combined, shown in the header. @default 'median' */
  aggregate?: string;
}

/** A target (of issue 8, 14 or 16), checked against this run. */
export interface TargetCheck {
  /** What is required, e.g. `L1 hit: CacheService.get >= 10x best anchor L1 hit`. */
  label: string;
  /** The measured ratio (or value) compared with `required`. */
  measured: number;
  /** E.g. `>= 10`. */
  required: string;
  /** `undefined` when it could not be measured. */
  met: boolean | undefined;
  /** Which numbers the ratio comes from. */
  detail: string;
}

/** Everything one scenario reports. */
export interface ScenarioReport {
  id: string;
  title: string;
  /** One line: what is measured and how (sizes, concurrency, runs). */
  setup: string;
  metric: Metric;
  rows: Row[];
  /** Headers of `Row.cells`, in order. */
  extraColumns?: string[];
  targets: TargetCheck[];
  notes?: string[];
  /** Whether p50/p99 columns apply. */
  latency?: boolean;
}

/** Fills `value` as the median of `runs` for each row that has runs. */
export function settleRows(rows: Row[]): Row[] {
  for (const row of rows) {
    if (row.runs && row.runs.length > 0 && row.value === undefined) row.value = median(row.runs);
  }
  return rows;
}

/**
 * How a row compares with another, as "fraction of the better one": 1.00 is as good, 0.50 half
 * as good (half the ops/s, or twice the time or bytes). So the column reads the same way for
 * every metric.
 */
function relative(value: number, reference: number, higherIsBetter: boolean): number {
  return higherIsBetter ? value / reference : reference / value;
}

function bestOf(report: ScenarioReport): Row | undefined {
  const candidates = report.rows.filter(
    (row) => row.kind !== 'limit' && row.value !== undefined && Number.isFinite(row.value),
  );
  if (candidates.length === 0) return undefined;
  return candidates.reduce((best, row) =>
    report.metric.higherIsBetter
      ? row.value! > best.value!
        ? row
        : best
      : row.value! < best.value!
        ? row
        : best,
  );
}

function limitOf(report: ScenarioReport): Row | undefined {
  return report.rows.find((row) => row.kind === 'limit' && row.value !== undefined);
}

/** Builds a target check; `op` compares the measured number with `threshold`. */
export function target(
  label: string,
  measured: number | undefined,
  op: '>=' | '<=' | '<' | '==',
  threshold: number,
  detail: string,
): TargetCheck {
  if (measured === undefined || !Number.isFinite(measured)) {
    return { label, measured: Number.NaN, required: `${op} ${threshold}`, met: undefined, detail };
  }
  const met =
    op === '>='
      ? measured >= threshold
      : op === '<='
        ? measured <= threshold
        : op === '<'
          ? measured < threshold
          : measured === threshold;
  return { label, measured, required: `${op} ${threshold}`, met, detail };
}

export function formatValue(value: number | undefined, format: Metric['format']): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  switch (format) {
    case 'rate':
      return Math.round(value).toLocaleString('en-US');
    case 'ms':
      return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
    case 'seconds':
      return value.toFixed(2);
    case 'bytes':
      return Math.round(value).toLocaleString('en-US');
    case 'count':
      return Math.round(value).toLocaleString('en-US');
  }
}

function formatMs(value: number | undefined): string {
  return formatValue(value, 'ms');
}

const KIND_LABEL: Record<RowKind, string> = {
  ours: 'ours',
  anchor: 'anchor',
  raw: 'raw',
  limit: 'limit',
};

/** The scenario as a plain-text table, with its targets below. */
export function renderReport(report: ScenarioReport): string {
  const best = bestOf(report);
  const limit = limitOf(report);
  const extra = report.extraColumns ?? [];
  const headers = [
    'subject',
    'kind',
    `${report.metric.label} (${report.metric.aggregate ?? 'median'})`,
    'min..max',
    ...(report.latency ? ['p50 ms', 'p99 ms'] : []),
    ...extra,
    'vs best',
    'vs limit',
  ];
  const lines: string[][] = [];
  for (const row of report.rows) {
    if (row.unavailable !== undefined) {
      lines.push([
        row.subject,
        KIND_LABEL[row.kind],
        'n/a',
        'not available*',
        ...(report.latency ? ['', ''] : []),
        ...extra.map(() => ''),
        '',
        '',
      ]);
      continue;
    }
    const runs = row.runs ?? [];
    const spread =
      runs.length > 1
        ? `${formatValue(Math.min(...runs), report.metric.format)}..${formatValue(Math.max(...runs), report.metric.format)}`
        : '';
    const vsBest =
      best && row.value !== undefined
        ? relative(row.value, best.value!, report.metric.higherIsBetter)
        : undefined;
    const vsLimit =
      limit && row.value !== undefined
        ? relative(row.value, limit.value!, report.metric.higherIsBetter)
        : undefined;
    lines.push([
      row.subject,
      KIND_LABEL[row.kind],
      formatValue(row.value, report.metric.format),
      spread,
      ...(report.latency ? [formatMs(row.p50Ms), formatMs(row.p99Ms)] : []),
      ...extra.map((header) => row.cells?.[header] ?? ''),
      vsBest === undefined ? '-' : vsBest.toFixed(2),
      vsLimit === undefined ? '-' : vsLimit.toFixed(row.kind === 'limit' ? 2 : 3),
    ]);
  }
  const widths = headers.map((header, c) =>
    Math.max(header.length, ...lines.map((line) => line[c]!.length)),
  );
  const numeric = (c: number): boolean => c >= 2 && headers[c] !== 'min..max';
  const fmt = (cells: string[]): string =>
    cells
      .map((cell, c) => (numeric(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ');
  const out: string[] = [];
  out.push(`(${report.id}) ${report.title}`);
  out.push(`    ${report.setup}`);
  out.push(fmt(headers));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) out.push(fmt(line));
  out.push(
    `    vs best / vs limit: fraction of the best non-limit row / of the "limit" row (1.00 = as good; ${report.metric.higherIsBetter ? 'higher' : 'lower'} ${report.metric.label} is better)`,
  );
  for (const note of report.notes ?? []) out.push(`    note: ${note}`);
  for (const row of report.rows) {
    if (row.unavailable !== undefined)
      out.push(`    * ${row.subject} not available: ${row.unavailable}`);
  }
  for (const check of report.targets) out.push(`    ${renderTarget(check)}`);
  return out.join('\n');
}

export function renderTarget(check: TargetCheck): string {
  const verdict = check.met === undefined ? 'N/A    ' : check.met ? 'MET    ' : 'NOT MET';
  const measured = Number.isFinite(check.measured) ? formatRatio(check.measured) : 'n/a';
  return `target ${verdict} ${check.label}: measured ${measured} (required ${check.required}) — ${check.detail}`;
}

function formatRatio(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}
