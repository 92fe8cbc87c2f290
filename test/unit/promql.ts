/**
 * PromQL checks for the deployment tests, on Prometheus's own grammar
 * (@prometheus-io/lezer-promql, the parser of the Prometheus UI): an expression must parse
 * without a syntax error, and the scan lists the metric names it selects and the label
 * names its matchers use, so a typo in an alert rule or a dashboard query fails a test
 * instead of a Prometheus or Grafana that nobody runs here.
 */
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';

/** Grafana's built-in range variables, replaced by a duration before parsing. */
const GRAFANA_RANGE_VARIABLES = /\$__(rate_interval|interval|range)\b/g;

export interface PromqlScan {
  /** Metric names the expression selects. */
  readonly metrics: ReadonlySet<string>;
  /** Label names used in matchers, by metric (`{}` selectors without a name are left out). */
  readonly matcherLabels: ReadonlyMap<string, ReadonlySet<string>>;
  /** Problems found; empty when the expression parses as PromQL. */
  readonly errors: readonly string[];
}

/**
 * @example
 * ```ts
 * scanPromql('sum by (group) (rl_raft_role{role="leader"}) == 0');
 * // metrics: {rl_raft_role}, matcherLabels: {rl_raft_role: {role}}, errors: []
 * ```
 */
export function scanPromql(expr: string): PromqlScan {
  const text = expr.replace(GRAFANA_RANGE_VARIABLES, '5m');
  const metrics = new Set<string>();
  const matcherLabels = new Map<string, Set<string>>();
  const errors: string[] = [];
  if (text.trim() === '') errors.push('empty expression');
  parser.parse(text).iterate({
    enter: (n) => {
      if (n.type.isError) {
        errors.push(`syntax error at ${n.from}: ${JSON.stringify(text.slice(Math.max(0, n.from - 20), n.to + 20))}`);
        return;
      }
      if (n.name !== 'VectorSelector') return;
      const id = n.node.getChild('Identifier');
      if (id === null) return;
      const metric = text.slice(id.from, id.to);
      metrics.add(metric);
      const labels = matcherLabels.get(metric) ?? new Set<string>();
      matcherLabels.set(metric, labels);
      const matchers = n.node.getChild('LabelMatchers');
      for (const m of [...(matchers?.getChildren('UnquotedLabelMatcher') ?? []), ...(matchers?.getChildren('QuotedLabelMatcher') ?? [])]) {
        const name = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
        if (name !== null) labels.add(text.slice(name.from, name.to).replace(/^"|"$/g, ''));
      }
    },
  });
  return { metrics, matcherLabels, errors };
}

const root = new URL('../../', import.meta.url);
export const readRepoFile = (p: string): string => readFileSync(new URL(p, root), 'utf8');

export interface DeployQuery {
  /** Where it comes from: `alerts.yml: RateLimiterNodeDown` or `dashboard: <panel title>`. */
  readonly source: string;
  readonly expr: string;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = parse(readRepoFile('deploy/prometheus/alerts.yml')) as { groups: { name: string; rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type: string; uid: string };
  readonly targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
  readonly panels?: DashboardPanel[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: DashboardPanel[];
  readonly templating: { list: { name: string; query: { query: string } | string; datasource?: { uid: string } }[] };
}

export function dashboard(): Dashboard {
  return JSON.parse(readRepoFile('deploy/grafana/dashboards/rate-limiter.json')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function dashboardPanels(d: Dashboard): DashboardPanel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression the alert rules and the dashboard run (template queries' metrics included). */
export function deployQueries(): DeployQuery[] {
  const out: DeployQuery[] = alertRules().map((r) => ({ source: `alerts.yml: ${r.alert}`, expr: r.expr }));
  const d = dashboard();
  for (const p of dashboardPanels(d)) for (const t of p.targets ?? []) out.push({ source: `dashboard: ${p.title} (${t.refId})`, expr: t.expr });
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((?:(.+),\s*)?(\w+)\)$/.exec(q);
    if (m?.[1] !== undefined) out.push({ source: `dashboard variable ${v.name}`, expr: m[1] });
  }
  return out;
}

/** Labels Prometheus adds to every scraped series (prometheus.yml relabels `node` from the address). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['instance', 'job', 'node']);
/** Series Prometheus makes itself rather than scraping them. */
export const SYNTHETIC_METRICS: ReadonlyMap<string, ReadonlySet<string>> = new Map([['up', new Set<string>()]]);
