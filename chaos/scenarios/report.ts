/** Renders the results of a chaos run as `docs/chaos-report.md`. */
import type { ScenarioResult } from './run-scenario.js';

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const ms = (x: number | null): string => (x === null ? '–' : `${Math.round(x)} ms`);

export interface ReportMeta {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly nodes: number;
  readonly groups: number;
  readonly workers: number;
  readonly faultMs: number;
  readonly toxiproxy: string;
  readonly host: string;
  readonly command: string;
}

export function renderReport(results: readonly ScenarioResult[], meta: ReportMeta): string {
  const ran = results.filter((r) => r.skipped === null);
  const lines: string[] = [];
  lines.push('# Chaos report');
  lines.push('');
  lines.push(`Written by \`${meta.command}\` (chaos/scenarios/cli.ts) on ${meta.startedAt}, ${Math.round(meta.durationMs / 60_000)} min, on ${meta.host}.`);
  lines.push(`${meta.nodes} real \`rl-node\` processes per scenario, ${meta.groups} shard groups, fsync \`batch\`, every peer link through the ${meta.toxiproxy} (in \`netns-netem-partition\`: each node in its own network namespace instead); ${meta.workers} HTTP client workers sending single checks to random live nodes (2 s deadline, no retries); fault phase ${Math.round(meta.faultMs / 1000)} s per scenario.`);
  lines.push('How the checker decides, and what each column means: [chaos/README.md](../chaos/README.md).');
  lines.push('');
  lines.push(`**Result: ${ran.every((r) => r.passed) ? 'every scenario passed' : `${ran.filter((r) => !r.passed).length} of ${ran.length} scenarios FAILED`}.** Over-admission in strict mode: ${Math.max(0, ...ran.map((r) => r.overAdmission?.strictExcess ?? 0))}; lost acknowledged mutations: ${ran.reduce((s, r) => s + (r.lost?.lost.length ?? 0), 0)}.`);
  lines.push('');
  lines.push('| scenario | result | checks | availability (fault phase) | availability (all) | strict over-admission | fast over-admission | failover p50 / p99 (n) | sentinels at limit / probed / lost |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    if (r.skipped !== null) {
      lines.push(`| ${r.name} | skipped: ${r.skipped} | | | | | | | |`);
      continue;
    }
    const fault = r.availability.find((p) => p.phase === 'fault');
    const all = r.availability.reduce((a, p) => ({ n: a.n + p.checks, ok: a.ok + p.allowed + p.denied }), { n: 0, ok: 0 });
    const n = r.failoverMs.filter((m) => m !== null).length;
    lines.push(
      `| ${r.name} | ${r.passed ? 'pass' : '**FAIL**'} | ${r.checks} | ${fault === undefined ? '–' : pct(fault.availability)} | ${all.n === 0 ? '–' : pct(all.ok / all.n)} | ${r.overAdmission?.strictExcess ?? '–'} | ${r.overAdmission?.fastExcess ?? '–'} | ${n === 0 ? '–' : `${ms(r.failoverP50Ms)} / ${ms(r.failoverP99Ms)} (${n})`} | ${r.lost === null ? '–' : `${r.lost.sentinels} / ${r.lost.probed} / ${r.lost.lost.length}`} |`,
    );
  }
  lines.push('');
  for (const r of ran) {
    lines.push(`## ${r.title} (\`${r.name}\`)`);
    lines.push('');
    lines.push(r.description);
    lines.push('');
    lines.push(`${r.checks} checks, ${r.faults} fault events, ${Math.round(r.durationMs / 1000)} s; ${r.overAdmission?.keysChecked ?? 0} keys and ${r.overAdmission?.allowsChecked ?? 0} definite allows checked against the model.`);
    lines.push('');
    lines.push('| phase | checks | allowed | denied | errors | timeouts | availability | error codes |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const p of r.availability) {
      const codes = Object.entries(p.codes).map(([c, k]) => `${c} ${k}`).join(', ');
      lines.push(`| ${p.phase} | ${p.checks} | ${p.allowed} | ${p.denied} | ${p.errors} | ${p.timeouts} | ${pct(p.availability)} | ${codes} |`);
    }
    lines.push('');
    if (r.timeline.length > 0) lines.push(`Fault events${r.faults > r.timeline.length ? ` (first ${r.timeline.length} of ${r.faults})` : ''}: ${r.timeline.join('; ')}.`, '');
    const fo = r.failoverMs.map((m) => (m === null ? 'never' : `${Math.round(m)}`));
    if (fo.length > 0) lines.push(`Failover times (ms, fault to first answer in every group it took a leader from): ${fo.join(', ')}.`, '');
    if (!r.passed) lines.push('**Problems:**', '', ...r.problems.map((p) => `- ${p}`), '');
  }
  return `${lines.join('\n')}\n`;
}
