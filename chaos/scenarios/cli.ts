/**
 * `npm run chaos [-- --quick] [--minutes M] [--only a,b] [--report path] [--nodes N]`:
 * runs the real-process chaos scenarios one after another (a fresh cluster each) and
 * writes the report (default docs/chaos-report.md; `--report -` for none). Exit 1 when a
 * scenario fails. Long form: about 20 minutes (`--minutes` scales the fault phases).
 */
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './index.js';
import { renderReport } from './report.js';
import { runScenario, type ScenarioResult } from './run-scenario.js';

/** Fixed cost of one scenario besides its fault phase: start, setup, steady, recovery, verify, stop (measured ~25 s on 2 cores). */
const OVERHEAD_MS = 25_000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    only: { type: 'string' },
    report: { type: 'string' },
    nodes: { type: 'string', default: '3' },
  },
  strict: true,
});

const quick = values.quick === true;
const minutes = Number(values.minutes ?? (quick ? '3' : '20'));
if (!(minutes > 0 && minutes <= 24 * 60)) throw new RangeError(`--minutes must be a number from 1 to 1440 (got ${JSON.stringify(values.minutes)})`);
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 3 || nodes > 7) throw new RangeError(`--nodes must be an integer from 3 to 7 (got ${JSON.stringify(values.nodes)})`);
const only = values.only?.split(',').filter((s) => s !== '');
const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
if (unknown.length > 0) throw new RangeError(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
const chosen = SCENARIOS.filter((s) => (only === undefined ? !quick || s.quick : only.includes(s.name)));
const faultMs = Math.max(5_000, Math.floor((minutes * 60_000) / chosen.length - OVERHEAD_MS));
const reportPath = values.report ?? (quick ? '-' : 'docs/chaos-report.md');
const historyDir = join(tmpdir(), `rl-chaos-${Date.now().toString(36)}`);

const startedAt = new Date();
const results: ScenarioResult[] = [];
for (const s of chosen) {
  results.push(
    await runScenario(s, {
      faultMs,
      steadyMs: 3000,
      recoveryMs: 4000,
      nodes,
      groups: 4,
      workers: 8,
      historyDir,
      log: (l) => process.stdout.write(`${l}\n`),
    }),
  );
}
const durationMs = Date.now() - startedAt.getTime();
const cmd = `npm run chaos --${quick ? ' --quick' : ''}${values.minutes === undefined ? '' : ` --minutes ${minutes}`}${only === undefined ? '' : ` --only ${only.join(',')}`}`;
const report = renderReport(results, {
  startedAt: startedAt.toISOString(),
  durationMs,
  nodes,
  groups: 4,
  workers: 8,
  faultMs,
  toxiproxy: process.env['TOXIPROXY_URL'] ? 'Toxiproxy at TOXIPROXY_URL' : 'built-in Toxiproxy-compatible server',
  host: `${cpus().length} cores, Node ${process.version}`,
  command: cmd,
});
if (reportPath !== '-') await writeFile(reportPath, report);
process.stdout.write(`histories: ${historyDir}\n${reportPath === '-' ? report : `report: ${reportPath}\n`}`);
process.exitCode = results.every((r) => r.passed) ? 0 : 1;
