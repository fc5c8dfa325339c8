import { formatValue, renderTarget, type RowKind, type ScenarioReport } from './report.js';

/**
 * A hand-written SVG of the results: one panel of horizontal bars per table (log scale where the
 * values span more than 20x), ours in blue, the anchors in orange, raw clients in grey, the limit
 * dark, and the target verdicts at the bottom. Self-contained (no fonts or scripts), for the README.
 */

const WIDTH = 1000;
const LABEL_WIDTH = 420;
const VALUE_WIDTH = 130;
const BAR_HEIGHT = 14;
const ROW_GAP = 5;
const PANEL_GAP = 26;
const COLORS: Record<RowKind, string> = {
  ours: '#1f6fd1',
  anchor: '#e8912d',
  raw: '#9aa3ad',
  limit: '#4a5360',
};

export function renderSvg(reports: readonly ScenarioReport[], caption: string): string {
  const parts: string[] = [];
  let y = 40;
  parts.push(text(16, 24, caption, { size: 15, weight: 'bold' }));
  for (const report of reports) {
    const rows = report.rows.filter(
      (row) => row.value !== undefined && Number.isFinite(row.value) && row.value > 0,
    );
    if (rows.length === 0) continue;
    const values = rows.map((row) => row.value!);
    const max = Math.max(...values);
    const min = Math.min(...values);
    const log = report.metric.higherIsBetter && max / min > 20;
    const barSpace = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 24;
    const scale = (value: number): number => {
      if (!log) return Math.max(2, (value / max) * barSpace);
      const floor = Math.log10(min) - 0.3;
      return Math.max(2, ((Math.log10(value) - floor) / (Math.log10(max) - floor)) * barSpace);
    };
    const hint = `${report.metric.label}, ${report.metric.higherIsBetter ? 'higher' : 'lower'} is better${log ? ', log scale' : ''}`;
    y += 6;
    parts.push(text(16, y + 12, `(${report.id}) ${report.title}`, { size: 13, weight: 'bold' }));
    parts.push(text(WIDTH - 16, y + 12, hint, { size: 11, anchor: 'end', fill: '#555' }));
    y += 22;
    for (const row of rows) {
      const barWidth = scale(row.value!);
      parts.push(
        text(LABEL_WIDTH - 8, y + BAR_HEIGHT - 3, shorten(row.subject, 62), {
          size: 11,
          anchor: 'end',
        }),
      );
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${barWidth.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[row.kind]}" rx="2"/>`,
      );
      const latency = row.p99Ms !== undefined ? `  p99 ${formatValue(row.p99Ms, 'ms')} ms` : '';
      parts.push(
        text(
          LABEL_WIDTH + barWidth + 6,
          y + BAR_HEIGHT - 3,
          `${formatValue(row.value, report.metric.format)}${latency}`,
          {
            size: 11,
            fill: '#222',
          },
        ),
      );
      y += BAR_HEIGHT + ROW_GAP;
    }
    y += PANEL_GAP - ROW_GAP;
  }
  const checks = reports.flatMap((report) =>
    report.targets.map((check) => ({ id: report.id, check })),
  );
  if (checks.length > 0) {
    parts.push(text(16, y + 12, 'Targets', { size: 13, weight: 'bold' }));
    y += 22;
    for (const { id, check } of checks) {
      const fill = check.met === undefined ? '#777' : check.met ? '#1a7f37' : '#c62828';
      parts.push(
        text(16, y + 11, shorten(`(${id}) ${renderTarget(check)}`, 150), { size: 11, fill }),
      );
      y += 16;
    }
  }
  y += 16;
  const legend = (['ours', 'anchor', 'raw', 'limit'] as const)
    .map((kind, i) => {
      const x = 16 + i * 120;
      return `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[kind]}" rx="2"/>${text(x + 18, y, kind, { size: 11 })}`;
    })
    .join('');
  parts.push(legend);
  y += 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function text(
  x: number,
  y: number,
  content: string,
  style: { size: number; weight?: string; anchor?: 'start' | 'end'; fill?: string },
): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${style.size}"${style.weight ? ` font-weight="${style.weight}"` : ''}${style.anchor ? ` text-anchor="${style.anchor}"` : ''} fill="${style.fill ?? '#111'}">${escape(content)}</text>`;
}

function shorten(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function escape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
