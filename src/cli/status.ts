/**
 * `rlctl status` and `rlctl groups`. Status asks the endpoint for the member list, then
 * every member (in parallel, each bounded) for its own view: up or down, its config
 * version, what it leads, and per group how far each replica's applied index trails the
 * leader's commit index (replication lag, in entries).
 */
import { CliError, EXIT_FAILURE, EXIT_OK } from './cli-error.js';
import { expectOk, parseEndpoint, request } from './client.js';
import { parseClusterView, type ClusterView } from './cluster-view.js';
import { TOKEN_HINT, emit, type CommandContext } from './context.js';
import { table } from './table.js';

/** Per-node bound for status: a down node must not hold the command up. */
const NODE_TIMEOUT_MS = 1500;

export async function fetchView(ctx: CommandContext): Promise<ClusterView> {
  const a = await request(ctx.endpoint, '/v1/cluster', { token: ctx.token });
  return parseClusterView(expectOk(ctx.endpoint, a, TOKEN_HINT), ctx.endpoint.name);
}

interface NodeStatus {
  readonly id: string;
  readonly api: string | null;
  readonly up: boolean;
  readonly configVersion: number | null;
  readonly metaRole: string | null;
  readonly leads: readonly number[];
  readonly error: string | null;
}

interface ReplicaStatus {
  readonly node: string;
  readonly up: boolean;
  readonly appliedIndex: number | null;
  readonly lagEntries: number | null;
}

interface GroupStatus {
  readonly id: number;
  readonly leader: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly replicas: readonly ReplicaStatus[];
  /** Largest lag of any live replica; null when the group has no leader in view. */
  readonly lagEntriesMax: number | null;
}

async function viewOf(ctx: CommandContext, api: string | null, first: ClusterView, id: string): Promise<{ view: ClusterView | null; error: string | null }> {
  if (id === first.node) return { view: first, error: null };
  if (api === null) return { view: null, error: 'address not registered yet' };
  try {
    const ep = parseEndpoint(api);
    const a = await request(ep, '/v1/cluster', { token: ctx.token, timeoutMs: NODE_TIMEOUT_MS });
    return { view: parseClusterView(expectOk(ep, a, TOKEN_HINT), ep.name), error: null };
  } catch (err) {
    return { view: null, error: err instanceof Error ? err.message : String(err) };
  }
}

export async function statusCommand(ctx: CommandContext): Promise<number> {
  const first = await fetchView(ctx);
  const views = await Promise.all(first.members.map(async (m) => ({ member: m, ...(await viewOf(ctx, m.apiAddress, first, m.id)) })));
  const nodes: NodeStatus[] = views.map(({ member, view, error }) => ({
    id: member.id,
    api: member.id === first.node ? ctx.endpoint.name : member.apiAddress,
    up: view !== null,
    configVersion: view?.configVersion ?? null,
    metaRole: view?.meta?.role ?? null,
    leads: view === null ? [] : [...(view.meta?.role === 'leader' ? [0] : []), ...view.groups.filter((g) => g.role === 'leader').map((g) => g.id)],
    error,
  }));
  const byNode = new Map(views.map((v) => [v.member.id, v.view]));
  const rowsOf = (v: ClusterView | null): { id: number; replicas: readonly string[]; row: { leader: string | null; role: string | null; term: number | null; commitIndex: number | null; appliedIndex: number | null } | undefined }[] => {
    if (v === null) return [];
    const metaReplicas = v.meta === null ? [] : [...v.meta.voters, ...v.meta.learners];
    return [{ id: 0, replicas: metaReplicas, row: v.meta ?? undefined }, ...v.groups.map((g) => ({ id: g.id, replicas: g.replicas, row: g }))];
  };
  const groups: GroupStatus[] = rowsOf(first).map(({ id, replicas }) => {
    // The leader's own view gives the commit index; each replica's view gives its applied index.
    let leader: string | null = null;
    let term: number | null = null;
    for (const r of replicas) {
      const row = rowsOf(byNode.get(r) ?? null).find((x) => x.id === id)?.row;
      if (row?.role === 'leader' && (term === null || (row.term ?? 0) >= term)) {
        leader = r;
        term = row.term;
      }
    }
    const commit = leader === null ? null : (rowsOf(byNode.get(leader) ?? null).find((x) => x.id === id)?.row?.commitIndex ?? null);
    const reps: ReplicaStatus[] = replicas.map((r) => {
      const row = rowsOf(byNode.get(r) ?? null).find((x) => x.id === id)?.row;
      const applied = row?.appliedIndex ?? null;
      return { node: r, up: byNode.get(r) != null, appliedIndex: applied, lagEntries: commit === null || applied === null ? null : Math.max(0, commit - applied) };
    });
    const lags = reps.filter((r) => r.lagEntries !== null).map((r) => r.lagEntries as number);
    return { id, leader, term, commitIndex: commit, replicas: reps, lagEntriesMax: leader === null || lags.length === 0 ? null : Math.max(...lags) };
  });
  const healthy = nodes.every((n) => n.up) && groups.every((g) => g.leader !== null);
  const result = { endpoint: ctx.endpoint.name, healthy, configVersion: first.configVersion, nodes, groups, moves: first.moves, split: first.split };
  const nodeTable = table(
    ['NODE', 'API', 'STATE', 'CONFIG', 'META', 'LEADS'],
    nodes.map((n) => [n.id, n.api ?? '-', n.up ? 'up' : 'down', n.configVersion === null ? '-' : `v${n.configVersion}`, n.metaRole ?? '-', n.leads.length === 0 ? '-' : n.leads.map((g) => (g === 0 ? 'meta' : `g${g}`)).join(',')]),
  );
  const groupTable = table(
    ['GROUP', 'LEADER', 'TERM', 'COMMIT', 'LAG', 'REPLICAS (applied)'],
    groups.map((g) => [
      g.id === 0 ? '0 (meta)' : String(g.id),
      g.leader ?? 'none',
      g.term === null ? '-' : String(g.term),
      g.commitIndex === null ? '-' : String(g.commitIndex),
      g.lagEntriesMax === null ? '-' : String(g.lagEntriesMax),
      g.replicas.map((r) => `${r.node}:${r.up ? (r.appliedIndex ?? '-') : 'down'}`).join(' '),
    ]),
  );
  const down = nodes.filter((n) => !n.up).map((n) => `${n.id} is down (${n.error ?? 'no answer'})`);
  const moveTable =
    first.moves.length === 0
      ? ''
      : `\n${table(
          ['MOVING', 'VOTERS', 'LEARNERS', 'TARGET', 'ADDING', 'REMOVING'],
          first.moves.map((m) => [String(m.groupId), m.voters.join(',') || '-', m.learners.join(',') || '-', m.target.join(','), m.adding.join(',') || '-', m.removing.join(',') || '-']),
        )}`;
  const sp = first.split;
  const splitLine = sp === null ? '' : `\nSPLIT ${sp.id}: group ${sp.source} -> group ${sp.target}, ${sp.slots} slots, ${sp.phase}\n`;
  emit(ctx, result, `${nodeTable}\n${groupTable}${moveTable}${splitLine}${down.length > 0 ? `\n${down.join('\n')}\n` : ''}`);
  return healthy ? EXIT_OK : EXIT_FAILURE;
}

export async function groupsCommand(ctx: CommandContext): Promise<number> {
  const v = await fetchView(ctx);
  const meta = v.meta;
  const rows = [
    ...(meta === null
      ? []
      : [{ id: 0, replicas: [...meta.voters, ...meta.learners.map((l) => `${l}(learner)`)], leader: meta.leader, term: meta.term, commitIndex: meta.commitIndex, appliedIndex: meta.appliedIndex }]),
    ...v.groups.map((g) => ({ id: g.id, replicas: g.replicas, leader: g.leader, term: g.term, commitIndex: g.commitIndex, appliedIndex: g.appliedIndex })),
  ];
  if (rows.length === 0) throw new CliError(EXIT_FAILURE, `${ctx.endpoint.name} reports no groups`);
  const human = table(
    ['GROUP', 'REPLICAS', 'LEADER', 'TERM', 'COMMIT', 'APPLIED'],
    rows.map((g) => [g.id === 0 ? '0 (meta)' : String(g.id), g.replicas.join(','), g.leader ?? 'none', String(g.term ?? '-'), String(g.commitIndex ?? '-'), String(g.appliedIndex ?? '-')]),
  );
  emit(ctx, { node: v.node, groups: rows }, `${human}(as node ${v.node} sees them)\n`);
  return EXIT_OK;
}
