// Proves rl-node option parsing: flags beat environment variables, defaults apply, and
// every problem is reported at once with the flag and env variable named.
import { describe, expect, it } from 'vitest';
import { parseNodeOptions } from '../../src/node/options.js';
import { staticPlacement } from '../../src/node/placement.js';

const base = ['--id', 'n1', '--data', '/tmp/d', '--config', 'limits.yaml', '--cluster-secret', 'sixteen-bytes-ok!'];

describe('parseNodeOptions', () => {
  it('parses flags and applies defaults', () => {
    const o = parseNodeOptions([...base, '--peers', 'n2=127.0.0.1:7102,n3=127.0.0.1:7103'], {});
    expect(o).toMatchObject({
      id: 'n1',
      listenHost: '127.0.0.1',
      listenPort: 7001,
      peerListenPort: 7101,
      peers: { n2: '127.0.0.1:7102', n3: '127.0.0.1:7103' },
      groups: 8,
      replicationFactor: 3,
      fsync: 'batch',
    });
  });

  it('takes every option from RL_* variables, and flags win over them', () => {
    const env = { RL_ID: 'n9', RL_DATA: '/d', RL_CONFIG: 'c.yaml', RL_CLUSTER_SECRET: 'x'.repeat(16), RL_LISTEN: '0.0.0.0:9000', RL_GROUPS: '16' };
    expect(parseNodeOptions([], env)).toMatchObject({ id: 'n9', listenHost: '0.0.0.0', listenPort: 9000, groups: 16 });
    expect(parseNodeOptions(['--id', 'n2'], env).id).toBe('n2');
  });

  it('reports every problem together, naming flag and variable', () => {
    let message = '';
    try {
      parseNodeOptions(['--listen', 'nowhere', '--fsync', 'sometimes', '--groups', '0', '--peers', 'n2'], {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('--id (or RL_ID) is required');
    expect(message).toContain('--data (or RL_DATA) is required');
    expect(message).toContain('--cluster-secret (or RL_CLUSTER_SECRET) is required');
    expect(message).toContain('--listen must be host:port');
    expect(message).toContain('--fsync must be always, batch or off (got "sometimes")');
    expect(message).toContain('--groups must be an integer from 1 to 4096 (got "0")');
    expect(message).toContain('--peers entries must be id=host:port (got "n2")');
  });

  it('rejects a short cluster secret', () => {
    expect(() => parseNodeOptions([...base.slice(0, 6), '--cluster-secret', 'short'], {})).toThrow(/at least 16 bytes/);
  });
});

describe('staticPlacement', () => {
  it('spreads groups evenly and gives each replicationFactor distinct replicas', () => {
    const p = staticPlacement(['n3', 'n1', 'n2', 'n4', 'n5'], 10, 3);
    const load = new Map<string, number>();
    for (const g of p.groupIds) {
      const replicas = p.replicasOf(g);
      expect(new Set(replicas).size).toBe(3);
      for (const r of replicas) load.set(r, (load.get(r) ?? 0) + 1);
    }
    expect([...load.values()]).toEqual([6, 6, 6, 6, 6]);
    expect(p.slots.groupOf(0)).toBe(1);
    expect(p.slots.groupOf(4095)).toBe((4095 % 10) + 1);
  });

  it('is the same on every node whatever order the member list comes in', () => {
    const a = staticPlacement(['n1', 'n2', 'n3'], 4, 3);
    const b = staticPlacement(['n3', 'n2', 'n1'], 4, 3);
    for (const g of a.groupIds) expect(a.replicasOf(g)).toEqual(b.replicasOf(g));
  });
});
