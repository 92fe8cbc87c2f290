// Proves scale-in on real processes: with checks running, `drain` moves every replica,
// leader and meta vote off a node, `remove` then takes it out of the cluster, and strict
// mode admits no more than each limit throughout; bad requests (unknown node, removing a
// node that still holds replicas, a drain that would leave fewer nodes than the
// replication factor, a duplicate id) are refused with their stable codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { runRlctl } from '../../src/cli/program.js';
import { ADMIN_TOKEN, ScaleCluster, type ScaleNode } from '../support/scale-cluster.js';
import { balanced, expectStrictHeld, leaderCounts, runLoad, type LoadResult } from '../support/scale-load.js';
import { LIMITS } from './limits.js';

const GROUPS = 6;

/** rlctl in-process against `n` (the code the bin runs); returns exit code and output. */
async function rlctl(n: ScaleNode, argv: readonly string[]): Promise<{ exit: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const exit = await runRlctl(['--endpoint', `127.0.0.1:${n.apiPort}`, '--token', ADMIN_TOKEN, ...argv], { out: (s) => (out += s), err: (s) => (err += s) }, {});
  return { exit, out, err };
}

function code(r: { body: Record<string, unknown> }): unknown {
  return (r.body['error'] as { code?: unknown } | undefined)?.code;
}

describe('scale in: drain and remove a node under load', () => {
  const cluster = new ScaleCluster({ limitsYaml: LIMITS, groups: GROUPS });
  beforeAll(async () => {
    await cluster.start(3);
    const n4 = await cluster.join('n4', cluster.nodes[0] as ScaleNode);
    await waitUntil('n4 holds replicas and no moves are left', 75_000, async () => {
      const map = await cluster.mapView(n4);
      return map !== null && map.moves.length === 0 && (map.nodes.find((n) => n.id === 'n4')?.replicas ?? 0) >= 4;
    });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  }, 30_000);

  it('refuses bad membership requests with stable codes', async () => {
    const n1 = cluster.nodes[0] as ScaleNode;
    const unknown = await cluster.admin(n1, 'POST', '/v1/admin/nodes/n9/drain');
    expect([unknown.status, code(unknown)]).toEqual([404, 'RL_ERR_UNKNOWN_NODE']);
    const notDrained = await cluster.admin(n1, 'DELETE', '/v1/admin/nodes/n3');
    expect([notDrained.status, code(notDrained)]).toEqual([409, 'RL_ERR_NODE_NOT_DRAINED']);
    const dup = await cluster.admin(n1, 'POST', '/v1/admin/nodes', { id: 'n2', peerAddress: '127.0.0.1:1', apiAddress: null });
    expect([dup.status, code(dup)]).toEqual([409, 'RL_ERR_NODE_EXISTS']);
    const bad = await cluster.admin(n1, 'POST', '/v1/admin/nodes', { id: 'no spaces', peerAddress: '127.0.0.1:1' });
    expect([bad.status, code(bad)]).toEqual([400, 'RL_ERR_BAD_REQUEST']);
    // The same through rlctl: one line on stderr and exit 1, or the code in --json.
    const human = await rlctl(n1, ['node', 'remove', 'n3']);
    expect(human.exit).toBe(1);
    expect(human.err).toMatch(/^rlctl: RL_ERR_NODE_NOT_DRAINED: node n3 is not draining/);
    const asJson = await rlctl(n1, ['--json', 'node', 'drain', 'n9']);
    expect(asJson.exit).toBe(1);
    expect(JSON.parse(asJson.out)).toMatchObject({ error: { code: 'RL_ERR_UNKNOWN_NODE' } });
    // A node started with another --groups is refused before it enters the map, and exits.
    const wrong = await cluster.joinNoWait('n7', n1, ['--groups', String(GROUPS + 1)]);
    await waitUntil('the mismatched node exits', 30_000, () => wrong.process === null || wrong.process.exitCode !== null);
    expect(wrong.process?.exitCode).toBe(1);
    expect(wrong.log.join('')).toMatch(/the cluster has 6 shard groups but this node was started with --groups 7/);
    wrong.process = null;
    const list = await rlctl(n1, ['--json', 'node', 'list']);
    expect(list.exit).toBe(0);
    expect((JSON.parse(list.out) as { nodes: { id: string }[] }).nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4']);
  }, 30_000);

  it('drains n2 (replicas, leaders and meta vote move off), removes it, and never over-admits', async () => {
    const [n1, n2, n3, n4] = cluster.nodes as [ScaleNode, ScaleNode, ScaleNode, ScaleNode];
    const limited = Array.from({ length: 6 }, (_, i) => `drain-limited:${i}`);
    for (const key of limited) {
      for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(n3, { key, resource: 'small' }, `${key}:${i}`)).body).toMatchObject({ allowed: true });
    }
    const stop = { now: false };
    const serving: ScaleNode[] = [n1, n3, n4];
    const load: Promise<LoadResult> = runLoad(cluster, () => serving, stop, { keys: 24, resource: 'small', concurrency: 3 });

    const drained = await rlctl(n3, ['node', 'drain', 'n2']);
    expect(drained.exit, drained.err).toBe(0);
    expect(drained.out).toMatch(/node n2 is draining/);
    // Right after the drain its replicas have not moved yet: removal is refused, with the groups it holds.
    const early = await cluster.admin(n1, 'DELETE', '/v1/admin/nodes/n2');
    expect([early.status, code(early)]).toEqual([409, 'RL_ERR_NODE_NOT_DRAINED']);

    await waitUntil('n2 holds nothing, votes nowhere, and leaders spread over the other three', 75_000, async () => {
      const map = await cluster.mapView(n1);
      const n2Row = map?.nodes.find((n) => n.id === 'n2');
      if (map === null || n2Row === undefined || map.moves.length > 0 || n2Row.holds.length > 0 || n2Row.metaVoter) return false;
      const others = map.nodes.filter((n) => n.id !== 'n2');
      return balanced(others.map((n) => n.replicas)) && others.every((n) => n.replicas === (GROUPS * 3) / 3);
    });
    const removed = await rlctl(n4, ['node', 'remove', 'n2']);
    expect(removed.exit, removed.err).toBe(0);
    await cluster.stopNode(n2);
    await waitUntil('leaders balanced over n1, n3, n4', 30_000, async () => balanced(await leaderCounts(cluster, Array.from({ length: GROUPS }, (_, i) => i + 1))));

    // Three nodes left with replication factor 3: draining another would cost replicas.
    const tooFew = await cluster.admin(n1, 'POST', '/v1/admin/nodes/n3/drain');
    expect([tooFew.status, code(tooFew)]).toEqual([409, 'RL_ERR_QUORUM_AT_RISK']);

    stop.now = true;
    const result = await load;
    await expectStrictHeld(cluster, result, { limit: 5, limited, nodes: [n1, n3, n4], resource: 'small' });
    const map = await cluster.mapView(n1);
    expect(map?.nodes.map((n) => n.id)).toEqual(['n1', 'n3', 'n4']);
  }, 150_000);
});
