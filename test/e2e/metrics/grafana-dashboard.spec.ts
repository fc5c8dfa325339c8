import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import request from 'supertest';
import { CacheService } from 'nestjs-distributed-cache';
import { ObservabilityModule } from '../../../sample-app/src/observability/observability.module.js';
import { sampleAppSuite } from '../../support/sample-app.js';

/** The parts of a Grafana dashboard JSON model this test reads. */
interface DataSourceRef {
  readonly type?: string;
  readonly uid?: string;
}
interface Target {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: DataSourceRef;
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
  };
  readonly datasource?: DataSourceRef;
  readonly targets?: readonly Target[];
  /** A collapsed row holds its panels here. */
  readonly panels?: readonly Panel[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly datasource?: DataSourceRef;
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

const root = join(import.meta.dirname, '..', '..', '..');
const DASHBOARD_FILE = 'docs/grafana-dashboard.json';
const dashboard = JSON.parse(readFileSync(join(root, DASHBOARD_FILE), 'utf8')) as Dashboard;

/** Every panel, those inside collapsed rows included. */
const allPanels: readonly Panel[] = dashboard.panels.flatMap((panel) => [
  panel,
  ...(panel.panels ?? []),
]);
/** Panels that query something (rows only group). */
const queryPanels = allPanels.filter((panel) => panel.type !== 'row');

const PANEL_DATASOURCE = '${datasource}';
const NAMESPACE_MATCHER = 'namespace=~"$namespace"';
const METRIC_NAME = /distributed_cache_[a-z0-9_]+/g;
/** A metric name and its label matchers, if any: `name{a="b",c=~"d"}`. */
const SELECTOR = /(distributed_cache_[a-z0-9_]+)(?:\{([^}]*)\})?/g;
/** One exact-match label matcher: `label="value"`. */
const EQUALITY_MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g;

function variableQuery(variable: Variable): string {
  const { query } = variable;
  return typeof query === 'string' ? query : (query?.query ?? '');
}

function exprsOf(panel: Panel): string[] {
  return (panel.targets ?? []).map((target) => target.expr ?? '');
}

/** Every PromQL expression of the dashboard: panel targets and template-variable queries. */
const allExprs: readonly string[] = [
  ...queryPanels.flatMap(exprsOf),
  ...dashboard.templating.list.flatMap((variable) =>
    variable.type === 'query' ? [variableQuery(variable), variable.definition ?? ''] : [],
  ),
];

function metricNames(exprs: readonly string[]): Set<string> {
  return new Set(exprs.flatMap((expr) => expr.match(METRIC_NAME) ?? []));
}

/** The metric names the dashboard queries, sorted. */
const queriedMetrics = [...metricNames(allExprs)].sort();

/** Whether `(`, `[` and `{` close in order, outside double-quoted strings. */
function balanced(expr: string): boolean {
  const closing: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const open: string[] = [];
  let quoted = false;
  for (const char of expr) {
    if (char === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (char in closing) open.push(closing[char] as string);
    else if (char === ')' || char === ']' || char === '}') {
      if (open.pop() !== char) return false;
    }
  }
  return open.length === 0 && !quoted;
}

/**
 * The topics of issue 17: each needs one panel whose title matches and whose queries use all of
 * `metrics` (without the prefix); `divides` names what must come before and after the first ` / `
 * of one of its expressions (a mean is a sum over a count, not the other way round).
 */
const TOPICS: ReadonlyArray<{
  readonly topic: string;
  readonly title: RegExp;
  readonly metrics: readonly string[];
  readonly divides?: readonly [string, string];
}> = [
  {
    topic: 'hit ratio by tier',
    title: /hit ratio by tier/i,
    metrics: ['hits_total', 'misses_total'],
    divides: ['tier="l1"', 'misses_total'],
  },
  {
    topic: 'L2 read latency',
    title: /L2 read latency/i,
    metrics: ['l2_read_seconds_total', 'l2_reads_total'],
    divides: ['l2_read_seconds_total', 'l2_reads_total'],
  },
  {
    topic: 'pending queue',
    title: /pending/i,
    metrics: ['write_behind_pending', 'write_behind_max_pending'],
  },
  {
    topic: 'flush rate',
    title: /flush rate/i,
    metrics: ['write_behind_batches_total', 'write_behind_flushed_total'],
  },
  {
    topic: 'flush latency',
    title: /flush latency/i,
    metrics: ['write_behind_flush_seconds_total', 'write_behind_batches_total'],
    divides: ['write_behind_flush_seconds_total', 'write_behind_batches_total'],
  },
  {
    topic: 'drops and retries',
    title: /drops/i,
    metrics: ['write_behind_dropped_total', 'write_behind_retries_total'],
  },
  { topic: 'L2 errors', title: /errors/i, metrics: ['l2_errors_total'] },
  { topic: 'breaker state', title: /breaker state/i, metrics: ['breaker_state'] },
  {
    topic: 'locks',
    title: /locks/i,
    metrics: ['lock_acquired_total', 'lock_waits_total', 'lock_fallbacks_total'],
  },
  {
    topic: 'lock waits',
    title: /lock wait/i,
    metrics: ['lock_wait_seconds_total', 'lock_waits_total'],
    divides: ['lock_wait_seconds_total', 'lock_waits_total'],
  },
  {
    topic: 'replicas',
    title: /replica/i,
    metrics: ['replica_confirmed_batches_total', 'replica_timeouts_total'],
  },
  { topic: 'bus connected', title: /bus connected/i, metrics: ['invalidation_bus_connected'] },
  {
    topic: 'bus lag',
    title: /bus lag/i,
    metrics: ['invalidation_lag_seconds_total', 'invalidation_messages_total'],
    divides: ['invalidation_lag_seconds_total', 'direction="received"'],
  },
  { topic: 'hot keys', title: /hot keys/i, metrics: ['hot_key_reads'] },
];

function divides(expr: string, [before, after]: readonly [string, string]): boolean {
  const slash = expr.indexOf(' / ');
  return slash >= 0 && expr.slice(0, slash).includes(before) && expr.slice(slash).includes(after);
}

describe(`${DASHBOARD_FILE}`, () => {
  it('is a dashboard with a Prometheus data-source variable and a namespace variable', () => {
    expect(dashboard.uid).toEqual(expect.any(String));
    expect(dashboard.title).toEqual(expect.any(String));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const namespace = variables.get('namespace');
    expect(namespace).toMatchObject({
      type: 'query',
      datasource: { type: 'prometheus', uid: PANEL_DATASOURCE },
    });
    expect(variableQuery(namespace as Variable)).toBe(
      'label_values(distributed_cache_hits_total, namespace)',
    );
  });

  it('lays its panels out with unique ids, inside the 24-column grid, without overlap', () => {
    const ids = allPanels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const overlaps: string[] = [];
    for (const [i, a] of allPanels.entries()) {
      expect(a.gridPos.x + a.gridPos.w).toBeLessThanOrEqual(24);
      for (const b of allPanels.slice(i + 1)) {
        const apart =
          a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
          b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
          a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
          b.gridPos.y + b.gridPos.h <= a.gridPos.y;
        if (!apart) overlaps.push(`${a.title} / ${b.title}`);
      }
    }
    expect(overlaps).toEqual([]);
  });

  it('queries $datasource and filters every metric by $namespace', () => {
    const problems: string[] = [];
    for (const panel of queryPanels) {
      const where = `panel '${panel.title}'`;
      if (panel.datasource?.uid !== PANEL_DATASOURCE) problems.push(`${where}: datasource`);
      if ((panel.targets ?? []).length === 0) problems.push(`${where}: no targets`);
      for (const target of panel.targets ?? []) {
        const expr = target.expr ?? '';
        if (target.datasource?.uid !== PANEL_DATASOURCE) {
          problems.push(`${where} ${target.refId}: datasource`);
        }
        if (!balanced(expr)) problems.push(`${where} ${target.refId}: unbalanced: ${expr}`);
        const selectors = [...expr.matchAll(SELECTOR)];
        if (selectors.length === 0) problems.push(`${where} ${target.refId}: no cache metric`);
        for (const [selector, , matchers = ''] of selectors) {
          if (!matchers.split(',').includes(NAMESPACE_MATCHER)) {
            problems.push(`${where} ${target.refId}: ${selector} lacks ${NAMESPACE_MATCHER}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(TOPICS)('has a panel for $topic', ({ title, metrics, divides: ratio }) => {
    const wanted = metrics.map((name) => `distributed_cache_${name}`);
    const matching = queryPanels.filter((panel) => {
      const exprs = exprsOf(panel);
      const used = metricNames(exprs);
      return (
        title.test(panel.title) &&
        wanted.every((name) => used.has(name)) &&
        (ratio === undefined || exprs.some((expr) => divides(expr, ratio)))
      );
    });
    expect(matching.map((panel) => panel.title)).not.toEqual([]);
  });
});

const NAMESPACE = 'grafana-e2e';

/** Scrapes the sample app's /metrics: sample lines only (no `#` comments). */
async function scrape(app: INestApplication): Promise<string[]> {
  const res = await request(app.getHttpServer()).get('/metrics').expect(200);
  return res.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe(`${DASHBOARD_FILE} against the sample app's GET /metrics`, () => {
  // Inside this block: the static checks above need no Redis.
  const suite = sampleAppSuite();

  it('queries only metrics, and label values, the exporter really emits', async () => {
    const app = await suite.start(NAMESPACE, [
      ObservabilityModule.forRoot({ metrics: { registry: new Registry() } }),
    ]);
    const server = app.getHttpServer();
    // Misses and L2 reads, then L1 hits on the route (@Cacheable): enough reads for a sampled
    // hot-key tracker (one read in 10 by default) to count some. Then writes that flush and
    // publish invalidations.
    for (let i = 0; i < 30; i++) await request(server).get('/products/1').expect(200);
    await request(server).get('/products/2').expect(200);
    await request(server).put('/products/2').send({ name: 'Desk', priceCents: 1 }).expect(200);
    await request(server).post('/products').send({ name: 'Lamp', priceCents: 2 }).expect(201);
    await request(server).delete('/products/3').expect(204);
    await app.get(CacheService).flush();

    const lines = await scrape(app);
    expect(lines.some((line) => line.includes(`namespace="${NAMESPACE}"`))).toBe(true);
    const emitted = (name: string): boolean =>
      lines.some((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
    const missing = queriedMetrics.filter((name) => !emitted(name));

    // A label value matched exactly (tier="l1", state="open", direction="received") must exist
    // on some series of that metric, or the panel stays empty.
    const unknownLabels: string[] = [];
    for (const expr of allExprs) {
      for (const [, name = '', matchers = ''] of expr.matchAll(SELECTOR)) {
        if (!emitted(name)) continue; // reported above
        for (const [matcher] of matchers.matchAll(EQUALITY_MATCHER)) {
          const series = lines.filter((line) => line.startsWith(`${name}{`));
          if (!series.some((line) => line.includes(matcher))) {
            unknownLabels.push(`${name}{${matcher}}`);
          }
        }
      }
    }
    expect({ missing, unknownLabels: [...new Set(unknownLabels)] }).toEqual({
      missing: [],
      unknownLabels: [],
    });
  });
});
