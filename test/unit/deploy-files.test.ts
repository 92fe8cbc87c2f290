// Proves the deployment files agree with the code, since no Docker engine runs here:
// docker-compose.yml runs 3 nodes from the Dockerfile with flags and environment rl-node
// accepts, each peer link through its own Toxiproxy proxy to the right node and port;
// Prometheus scrapes every node's API port and loads the alert rules; Grafana gets the
// Prometheus data source and the dashboard; ports, volumes and healthchecks line up; every
// alert and dashboard query parses with Prometheus's own PromQL grammar and names only
// metrics (and labels) that the node's real registry exports. The sample limits file validates.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { buildNodeRegistry } from '../../src/node/metrics.js';
import { parseNodeOptions } from '../../src/node/options.js';
import { exampleSources, exportedSeries, type ExportedMetric } from './node-registry.js';
import { SYNTHETIC_METRICS, TARGET_LABELS, alertRules, dashboard, dashboardPanels, deployQueries, readRepoFile, scanPromql, type DeployQuery } from './promql.js';

const root = new URL('../../', import.meta.url);
const exists = (p: string): boolean => existsSync(new URL(p.replace(/^\.\//, ''), root));

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
}

const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const nodeNames = Object.keys(services).filter((n) => services[n]?.build !== undefined);
const nodes = nodeNames.map((name) => [name, services[name] as ComposeService] as const);
const svc = (name: string): ComposeService => {
  const s = services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const nodeEnv = (s: ComposeService): Record<string, string> => ({ ...(s.environment ?? {}), RL_CLUSTER_SECRET: 'a-secret-of-sixteen-bytes+' });

/** The repository file or folder a container path of `s` is mounted from (bind mounts only), or undefined. */
function hostPathOf(s: ComposeService, containerPath: string): string | undefined {
  let best: { host: string; container: string } | undefined;
  for (const v of s.volumes ?? []) {
    const [host, container] = v.split(':');
    if (host === undefined || container === undefined || !host.startsWith('./')) continue;
    if ((containerPath === container || containerPath.startsWith(`${container}/`)) && (best === undefined || container.length > best.container.length)) best = { host, container };
  }
  return best === undefined ? undefined : best.host + containerPath.slice(best.container.length);
}

function publishedPorts(s: ComposeService): { host: number; container: number }[] {
  return (s.ports ?? []).map((p) => {
    const [host, container] = p.split(':').map(Number);
    return { host: host as number, container: container as number };
  });
}

describe('docker-compose.yml', () => {
  it('runs three nodes built from the Dockerfile, plus toxiproxy, prometheus and grafana', () => {
    expect(nodeNames).toEqual(['n1', 'n2', 'n3']);
    expect(Object.keys(services).sort()).toEqual(['grafana', 'n1', 'n2', 'n3', 'prometheus', 'toxiproxy']);
    expect(exists('Dockerfile')).toBe(true);
    for (const [, s] of nodes) expect(s.build).toBe('.');
  });

  it('runs rl-node with flags and environment variables it accepts', () => {
    const envNames = new Set([...readRepoFile('src/node/options.ts').matchAll(/env: '(RL_[A-Z_]+)'/g)].map((m) => m[1]));
    expect(envNames.size).toBeGreaterThan(5);
    for (const [name, s] of nodes) {
      const o = parseNodeOptions(s.command ?? [], nodeEnv(s));
      expect(o.id).toBe(name);
      expect(o.dataDir).toBe('/data');
      expect(o.configPath).toBe('/etc/rl/limits.yaml');
      expect(Object.keys(o.peers).sort()).toEqual(nodeNames.filter((n) => n !== name));
      for (const key of Object.keys(s.environment ?? {})) expect(envNames.has(key), `${name}: ${key} is not an rl-node variable`).toBe(true);
    }
    // The check above can fail: a flag rl-node does not have is refused.
    expect(() => parseNodeOptions([...(svc('n1').command ?? []), '--no-such-flag', 'x'], nodeEnv(svc('n1')))).toThrow();
  });

  it('gives each node its own id, published client port, data volume and a readiness healthcheck on its API port', () => {
    const hostPorts = new Set<number>();
    for (const [name, s] of nodes) {
      const o = parseNodeOptions(s.command ?? [], nodeEnv(s));
      const ports = publishedPorts(s);
      expect(ports.map((p) => p.container), name).toEqual([o.listenPort]);
      for (const p of ports) hostPorts.add(p.host);
      expect(s.volumes).toContain(`${name}-data:/data`);
      expect(compose.volumes).toHaveProperty(`${name}-data`);
      expect(s.healthcheck?.test?.join(' ')).toContain(`http://127.0.0.1:${o.listenPort}/readyz`);
      expect(s.depends_on?.['toxiproxy']?.condition).toBe('service_healthy');
    }
    expect([...hostPorts].sort()).toEqual([7001, 7002, 7003]);
  });

  it('publishes no host port twice and gives every service a healthcheck', () => {
    const all = Object.values(services).flatMap((s) => publishedPorts(s).map((p) => p.host));
    expect(new Set(all).size).toBe(all.length);
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck?.test?.length, `${name} has no healthcheck`).toBeGreaterThan(1);
  });

  it('routes every peer link through its own toxiproxy proxy to the right node and peer port', () => {
    const tp = svc('toxiproxy');
    const configPath = (tp.command ?? []).find((a) => a.startsWith('-config='))?.slice('-config='.length) ?? '';
    const file = hostPathOf(tp, configPath);
    expect(file && exists(file), `toxiproxy config ${configPath} is mounted from the repository`).toBe(true);
    const proxies = JSON.parse(readRepoFile((file as string).replace(/^\.\//, ''))) as { name: string; listen: string; upstream: string; enabled: boolean }[];
    expect(publishedPorts(tp).map((p) => p.container)).toContain(8474);
    const peerPorts = new Map(nodes.map(([name, s]) => [name, parseNodeOptions(s.command ?? [], nodeEnv(s)).peerListenPort]));
    const used = new Set<string>();
    for (const [name, s] of nodes) {
      const o = parseNodeOptions(s.command ?? [], nodeEnv(s));
      for (const [peer, address] of Object.entries(o.peers)) {
        const [host, port] = address.split(':');
        expect(host, `${name} reaches ${peer} through toxiproxy`).toBe('toxiproxy');
        const proxy = proxies.find((p) => p.listen.endsWith(`:${port}`));
        expect(proxy, `a proxy listens on ${port}`).toBeDefined();
        expect(proxy?.name).toBe(`${name}-to-${peer}`);
        expect(proxy?.upstream).toBe(`${peer}:${peerPorts.get(peer)}`);
        expect(proxy?.enabled).toBe(true);
        used.add(proxy?.name ?? '');
      }
    }
    expect(used.size).toBe(proxies.length);
  });

  it('mounts a configuration file that exists and validates', () => {
    for (const [, s] of nodes) {
      const file = hostPathOf(s, '/etc/rl/limits.yaml') ?? '';
      expect(exists(file)).toBe(true);
      expect((s.volumes ?? []).find((v) => v.endsWith(':/etc/rl/limits.yaml:ro'))).toBeDefined();
    }
    const result = parseConfig(readRepoFile('docs/limits.example.yaml'));
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('builds an image whose entrypoint is rl-node and which exposes the ports compose uses', () => {
    const dockerfile = readRepoFile('Dockerfile');
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]';
    const script = (JSON.parse(entry) as string[]).find((a) => a.endsWith('.ts')) ?? '';
    expect(script).toBe('src/node/main.ts');
    expect(exists(script)).toBe(true);
    const exposed = (/^EXPOSE (.*)$/m.exec(dockerfile)?.[1] ?? '').split(/\s+/).map(Number);
    for (const [, s] of nodes) {
      const o = parseNodeOptions(s.command ?? [], nodeEnv(s));
      expect(exposed).toContain(o.listenPort);
      expect(exposed).toContain(o.peerListenPort);
    }
  });
});

describe('Prometheus configuration', () => {
  const prom = svc('prometheus');
  const configArg = (prom.command ?? []).find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '';
  const configFile = hostPathOf(prom, configArg) ?? '';
  const config = parse(readRepoFile(configFile.replace(/^\.\//, ''))) as {
    rule_files?: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };

  it('is mounted from deploy/prometheus and loads alert rules that exist in the repository', () => {
    expect(configFile).toBe('./deploy/prometheus/prometheus.yml');
    expect(config.rule_files?.length).toBeGreaterThan(0);
    for (const f of config.rule_files ?? []) expect(exists(hostPathOf(prom, f) ?? ''), f).toBe(true);
    expect(hostPathOf(prom, config.rule_files?.[0] ?? '')).toBe('./deploy/prometheus/alerts.yml');
  });

  it('scrapes /metrics on every node at the port the node listens on, and nothing else in that job', () => {
    const job = config.scrape_configs.find((j) => j.job_name === 'rate-limiter');
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    const targets = (job?.static_configs ?? []).flatMap((c) => c.targets).sort();
    const expected = nodes.map(([name, s]) => `${name}:${parseNodeOptions(s.command ?? [], nodeEnv(s)).listenPort}`).sort();
    expect(targets).toEqual(expected);
  });

  it('has the alert rules the issue asks for, each with a duration, a severity and a summary', () => {
    const rules = alertRules();
    const names = rules.map((r) => r.alert);
    for (const required of ['RateLimiterNodeDown', 'RateLimiterGroupNoLeader', 'RateLimiterReplicationLagHigh', 'RateLimiterFsyncSlow', 'RateLimiterDenialSpike', 'RateLimiterClockSkew']) {
      expect(names).toContain(required);
    }
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning']).toContain(r.labels?.['severity']);
      expect(r.annotations?.['summary'], r.alert).toBeTruthy();
    }
  });
});

describe('Grafana provisioning', () => {
  const grafana = svc('grafana');
  const datasources = parse(readRepoFile('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; type: string; url: string; isDefault?: boolean }[] };
  const providers = parse(readRepoFile('deploy/grafana/provisioning/dashboards/rate-limiter.yml')) as { providers: { type: string; options: { path: string } }[] };

  it('mounts the provisioning folder and the dashboards folder from deploy/grafana', () => {
    expect(hostPathOf(grafana, '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe('./deploy/grafana/provisioning/datasources/prometheus.yml');
    const path = providers.providers[0]?.options.path ?? '';
    const dashboardFile = hostPathOf(grafana, `${path}/rate-limiter.json`);
    expect(dashboardFile).toBe('./deploy/grafana/dashboards/rate-limiter.json');
    expect(exists(dashboardFile ?? '')).toBe(true);
    expect(grafana.depends_on?.['prometheus']?.condition).toBe('service_healthy');
  });

  it('points the Prometheus data source at the compose Prometheus service and port', () => {
    const ds = datasources.datasources.find((d) => d.type === 'prometheus');
    const promPort = publishedPorts(svc('prometheus'))[0]?.container;
    expect(ds?.url).toBe(`http://prometheus:${promPort}`);
    expect(ds?.isDefault).toBe(true);
  });

  it('has a dashboard whose panels all use that data source, with unique ids inside the grid', () => {
    const d = dashboard();
    const uid = datasources.datasources[0]?.uid;
    const panels = dashboardPanels(d);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const queried = panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(10);
    for (const p of panels) {
      const g = (p as { gridPos?: { x: number; w: number; h: number } }).gridPos;
      expect(g !== undefined && g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${p.title} fits the 24-column grid`).toBe(true);
    }
    for (const p of queried) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? uid, p.title).toBe(uid);
    }
    for (const v of d.templating.list) expect(v.datasource?.uid).toBe(uid);
  });
});

/** What is wrong with `q` against the exported series: PromQL shape, unknown metrics, unknown matcher labels. */
function problems(q: DeployQuery, series: ReadonlyMap<string, ExportedMetric>): string[] {
  const scan = scanPromql(q.expr);
  const out = scan.errors.map((e) => `${q.source}: ${e}`);
  for (const m of scan.metrics) {
    if (!series.has(m) && !SYNTHETIC_METRICS.has(m)) out.push(`${q.source}: ${m} is not exported by rl-node`);
  }
  for (const [m, labels] of scan.matcherLabels) {
    const known = series.get(m)?.labels ?? SYNTHETIC_METRICS.get(m) ?? new Set<string>();
    for (const l of labels) if (!known.has(l) && !TARGET_LABELS.has(l)) out.push(`${q.source}: ${m} has no label ${l}`);
  }
  return out;
}

describe('alert rules and dashboard queries against the node registry', () => {
  const series = exportedSeries(buildNodeRegistry(exampleSources()));
  const queries = deployQueries();

  it('finds the queries of every alert rule and dashboard panel', () => {
    expect(queries.filter((q) => q.source.startsWith('alerts.yml')).length).toBe(alertRules().length);
    expect(queries.filter((q) => q.source.startsWith('dashboard')).length).toBeGreaterThan(20);
  });

  it('every query parses as PromQL and names only metrics and labels the node exports', () => {
    expect(queries.flatMap((q) => problems(q, series))).toEqual([]);
  });

  it('the check can fail: typos in a metric, a label, a function or a bracket are reported', () => {
    const bad = (expr: string): string[] => problems({ source: 'test', expr }, series);
    expect(bad('sum(rate(rl_checks_totl[5m]))')).toEqual(['test: rl_checks_totl is not exported by rl-node']);
    expect(bad('sum(rate(rl_checks_total{decison="denied"}[5m]))')).toEqual(['test: rl_checks_total has no label decison']);
    expect(bad('rat(rl_checks_total[5m])').join()).toMatch(/syntax error/);
    expect(bad('sum(rate(rl_checks_total[5m])').length).toBeGreaterThan(0);
    expect(bad('rate(rl_checks_total[5 minutes])').length).toBeGreaterThan(0);
    expect(bad('rl_checks_total{decision=denied}').length).toBeGreaterThan(0);
    expect(bad('sum by (group) (rl_raft_role{role="leader"}) == 0')).toEqual([]);
    expect(bad('histogram_quantile(0.99, sum by (le) (rate(rl_check_latency_seconds_bucket{instance=~"$instance"}[$__rate_interval])))')).toEqual([]);
  });

  it('docs/metrics.md names, for each rl_* metric an alert queries, that alert', () => {
    const doc = readFileSync(new URL('docs/metrics.md', root), 'utf8');
    for (const r of alertRules()) {
      for (const m of scanPromql(r.expr).metrics) {
        const base = series.get(m)?.base ?? m;
        if (!base.startsWith('rl_')) continue;
        const row = doc.split('\n').find((l) => l.startsWith(`| \`${base}\` |`)) ?? '';
        expect(row, `${base} (alert ${r.alert})`).toContain(r.alert);
      }
    }
  });
});
