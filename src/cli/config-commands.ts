/**
 * `rlctl config get|apply|validate|diff|explain`. Files are read here (unreadable: exit 2);
 * their format follows the extension (`.json` → JSON, anything else YAML). `diff` compares
 * rule by rule, compiled on both sides, and says which changes reset counters.
 */
import { readFile } from 'node:fs/promises';
import { describeRule, formatIssue, parseConfig, type CompiledConfig } from '../config/index.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.js';
import { expectOk, request } from './client.js';
import { TOKEN_HINT, emit, type CommandContext } from './context.js';

/** Config writes wait for a quorum commit and the local apply: bounded well above that. */
const WRITE_TIMEOUT_MS = 15_000;

interface ConfigFile {
  readonly path: string;
  readonly text: string;
  readonly format: 'yaml' | 'json';
}

async function readConfigFile(path: string): Promise<ConfigFile> {
  try {
    return { path, text: await readFile(path, 'utf8'), format: path.toLowerCase().endsWith('.json') ? 'json' : 'yaml' };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
    throw new CliError(EXIT_USAGE, `cannot read ${path}: ${why}`, { code: 'RLCTL_FILE' });
  }
}

function contentType(f: ConfigFile): string {
  return f.format === 'json' ? 'application/json' : 'application/yaml';
}

interface RemoteConfig {
  readonly version: number;
  readonly format: 'yaml' | 'json';
  readonly text: string;
}

async function getRemote(ctx: CommandContext): Promise<RemoteConfig> {
  const a = await request(ctx.endpoint, '/v1/config', { token: ctx.token });
  return expectOk(ctx.endpoint, a, TOKEN_HINT) as RemoteConfig;
}

export async function configGet(ctx: CommandContext): Promise<number> {
  const c = await getRemote(ctx);
  if (ctx.json) emit(ctx, c, '');
  else {
    // The document alone on stdout (so `rlctl config get > limits.yaml` round-trips); the version on stderr.
    ctx.io.err(`configuration version ${c.version} (${c.format})\n`);
    ctx.io.out(c.text.endsWith('\n') ? c.text : `${c.text}\n`);
  }
  return EXIT_OK;
}

interface Changes {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly resets: readonly { rule: string; from: string; to: string }[];
}

function describeChanges(c: Changes): string[] {
  const lines: string[] = [];
  if (c.added.length + c.removed.length + c.changed.length === 0) lines.push('no rule changes');
  for (const r of c.added) lines.push(`  + ${r}`);
  for (const r of c.removed) lines.push(`  - ${r}`);
  for (const r of c.changed) {
    const reset = c.resets.find((x) => x.rule === r);
    lines.push(reset === undefined ? `  ~ ${r}` : `  ~ ${r}: ${reset.from} -> ${reset.to} (counters reset)`);
  }
  return lines;
}

export async function configApply(ctx: CommandContext, path: string, ifMatch: number | undefined): Promise<number> {
  const f = await readConfigFile(path);
  const headers: Record<string, string> = { 'content-type': contentType(f) };
  if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
  const a = await request(ctx.endpoint, '/v1/config', { method: 'PUT', body: f.text, headers, token: ctx.token, timeoutMs: WRITE_TIMEOUT_MS });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as Changes & { version: number; index: number };
  emit(ctx, r, [`applied configuration version ${r.version} from ${path}`, ...describeChanges(r)].join('\n'));
  return EXIT_OK;
}

export async function configValidate(ctx: CommandContext, path: string): Promise<number> {
  const f = await readConfigFile(path);
  const a = await request(ctx.endpoint, '/v1/config/validate', { method: 'POST', body: f.text, headers: { 'content-type': contentType(f) }, token: ctx.token });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as { valid: boolean; issues?: { path: string; message: string }[]; ruleCount?: number; currentVersion?: number } & Partial<Changes>;
  if (!r.valid) {
    const issues = r.issues ?? [];
    if (ctx.json) emit(ctx, r, '');
    else ctx.io.err([`${path}: invalid configuration (${issues.length} issue${issues.length === 1 ? '' : 's'})`, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join('\n') + '\n');
    return EXIT_FAILURE;
  }
  const changes: Changes = { added: r.added ?? [], removed: r.removed ?? [], changed: r.changed ?? [], resets: r.resets ?? [] };
  emit(ctx, r, [`${path}: valid (${r.ruleCount ?? 0} rules); against running version ${r.currentVersion ?? '?'}:`, ...describeChanges(changes)].join('\n'));
  return EXIT_OK;
}

function compile(text: string, format: 'yaml' | 'json', what: string): CompiledConfig {
  const r = parseConfig(text, format);
  if (r.ok) return r.config;
  throw new CliError(EXIT_FAILURE, `${what}: invalid configuration (${r.errors.length} issue${r.errors.length === 1 ? '' : 's'})`, { code: 'RL_ERR_CONFIG_INVALID', issues: r.errors.map((i) => ({ path: i.path, message: i.message })) }, r.errors.map((i) => `  ${formatIssue(i)}`));
}

export async function configDiff(ctx: CommandContext, path: string): Promise<number> {
  const f = await readConfigFile(path);
  const local = compile(f.text, f.format, path);
  const remote = await getRemote(ctx);
  const running = compile(remote.text, remote.format, `running version ${remote.version}`);
  const before = new Map(running.rules.map((r) => [r.id, r]));
  const added: { rule: string; to: string }[] = [];
  const changed: { rule: string; from: string; to: string; resetsCounters: boolean }[] = [];
  for (const r of local.rules) {
    const o = before.get(r.id);
    before.delete(r.id);
    if (o === undefined) added.push({ rule: r.id, to: describeRule(r) });
    else if (describeRule(o) !== describeRule(r)) changed.push({ rule: r.id, from: describeRule(o), to: describeRule(r), resetsCounters: o.stateShape !== r.stateShape });
  }
  const removed = [...before.values()].map((r) => ({ rule: r.id, from: describeRule(r) }));
  const identicalText = remote.text === f.text;
  const result = { currentVersion: remote.version, file: path, identicalText, added, removed, changed };
  const lines = [`running version ${remote.version} -> ${path}${identicalText ? ' (identical text)' : ''}`];
  if (added.length + removed.length + changed.length === 0) lines.push('no rule changes');
  for (const a of added) lines.push(`+ ${a.rule}: ${a.to}`);
  for (const r of removed) lines.push(`- ${r.rule}: ${r.from}`);
  for (const c of changed) lines.push(`~ ${c.rule}: ${c.from} -> ${c.to}${c.resetsCounters ? ' (counters reset)' : ''}`);
  emit(ctx, result, lines.join('\n'));
  return EXIT_OK;
}

export async function configExplain(ctx: CommandContext, key: string, resource: string, tier: string | undefined): Promise<number> {
  const q = new URLSearchParams({ key, resource, ...(tier === undefined ? {} : { tier }) });
  const a = await request(ctx.endpoint, `/v1/config/explain?${q.toString()}`, { token: ctx.token });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as { version: number; text: string };
  emit(ctx, r, `${r.text}\n(configuration version ${r.version})`);
  return EXIT_OK;
}
