/**
 * `npm start [-- --nodes N]`: a local cluster of N nodes (default 3) as child processes on
 * loopback: client API on 127.0.0.1:7001.., peers on 127.0.0.1:7101.., data under
 * ./data (a second start reuses it: counters survive), limits from ./data/limits.yaml
 * (copied from docs/limits.example.yaml on first start). Ctrl-C stops every node cleanly.
 * In a terminal the nodes log at info, pretty-printed (src/node/logging.ts); piped, they
 * write pino JSON lines at warn. `--log-level <level>` overrides the level.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatPrettyLine } from './logging.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const args = process.argv.slice(2);
const nodesArg = args.indexOf('--nodes');
const count = nodesArg >= 0 ? Number(args[nodesArg + 1]) : 3;
if (!Number.isInteger(count) || count < 1 || count > 9) {
  process.stderr.write(`--nodes must be an integer from 1 to 9 (got ${args[nodesArg + 1]})\n`);
  process.exit(2);
}

const pretty = process.stdout.isTTY === true;
const levelArg = args.indexOf('--log-level');
const logLevel = levelArg >= 0 ? (args[levelArg + 1] ?? '') : pretty ? 'info' : 'warn';

const dataDir = join(root, 'data');
await mkdir(dataDir, { recursive: true });
const limits = join(dataDir, 'limits.yaml');
if (!existsSync(limits)) await copyFile(join(root, 'docs', 'limits.example.yaml'), limits);
const secretFile = join(dataDir, 'cluster-secret');
if (!existsSync(secretFile)) await writeFile(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
const secret = (await readFile(secretFile, 'utf8')).trim();
// The admin token: RL_ADMIN_TOKEN when set, else one generated on first start and kept in
// ./data/admin-token (reused on the next start), so rlctl keeps working across restarts.
const adminTokenFile = join(dataDir, 'admin-token');
const envAdminToken = process.env['RL_ADMIN_TOKEN'];
let adminToken: string;
if (envAdminToken !== undefined && envAdminToken !== '') adminToken = envAdminToken;
else {
  if (!existsSync(adminTokenFile)) await writeFile(adminTokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  adminToken = (await readFile(adminTokenFile, 'utf8')).trim();
}

const ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
const children: ChildProcess[] = [];
for (const [i, id] of ids.entries()) {
  const peers = ids
    .map((p, j) => [p, j] as const)
    .filter(([p]) => p !== id)
    .map(([p, j]) => `${p}=127.0.0.1:${7101 + j}`)
    .join(',');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/node/main.ts'), '--id', id, '--listen', `127.0.0.1:${7001 + i}`, '--peer-listen', `127.0.0.1:${7101 + i}`, '--peers', peers, '--data', join(dataDir, id), '--config', limits, '--log-level', logLevel],
    { cwd: root, env: { ...process.env, RL_CLUSTER_SECRET: secret, RL_ADMIN_TOKEN: adminToken }, stdio: ['ignore', pretty ? 'pipe' : 'inherit', 'inherit'] },
  );
  if (pretty && child.stdout !== null) {
    // Lines are as long as one log record; readline holds at most one line per node.
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => process.stdout.write(`${formatPrettyLine(line, true)}\n`));
  }
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`node ${id} exited (${signal ?? code}); stopping the others\n`);
    stopAll();
  });
  children.push(child);
}

let stopping = false;
function stopAll(): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGTERM');
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

process.stdout.write(
  [
    `distributed-rate-limiter: ${count}-node local cluster (data in ${dataDir}, limits in ${limits})`,
    ...ids.map((id, i) => `  ${id}: client API http://127.0.0.1:${7001 + i}  (ws://127.0.0.1:${7001 + i}/v1/ws), peers 127.0.0.1:${7101 + i}`),
    '',
    'Try:',
    `  curl -s -XPOST http://127.0.0.1:7001/v1/check -d '{"key":"user:42","resource":"search"}'`,
    '  curl -s http://127.0.0.1:7001/v1/cluster',
    '',
    `Admin (rlctl; token ${envAdminToken !== undefined && envAdminToken !== '' ? 'from RL_ADMIN_TOKEN' : `in ${adminTokenFile}`}):`,
    `  RL_ADMIN_TOKEN=${adminToken} npm run rlctl -- status`,
    `  RL_ADMIN_TOKEN=${adminToken} npm run rlctl -- config apply ${limits}`,
    '',
    'Ctrl-C stops every node.',
    '',
  ].join('\n'),
);
