// Proves the backpressure of `fast` checks in the node's check path: a fast check is
// answered at once while its group has fewer than 8 batches proposed and not committed,
// and waits for its batch (a PendingAnswer, like a strict check) once 8 are in flight,
// until commits drain the backlog. Without it, fast saturation starved the node's Raft
// traffic and leaders were lost (docs/benchmarks.md, "Fast mode at saturation").
import { describe, expect, it } from 'vitest';
import type { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import { toNodeId, type Term } from '../../raft/index.js';
import { loadConfigOrThrow } from '../../src/config/index.js';
import { PendingAnswer } from '../../src/node/api/service.js';
import { NodeCheckService } from '../../src/node/check-service.js';
import { ShardMachine } from '../../src/node/shard/shard-machine.js';

const CONFIG = loadConfigOrThrow(
  ['version: 1', 'resources:', '  api:', '    algorithm: gcra', '    limit: 1000000', '    period: 1s', '    consistency: fast', ''].join('\n'),
  'yaml',
);

/** A host whose group 1 is led here with a valid lease; commits happen when the test says. */
class FakeHost {
  private index = 0;
  readonly commits: (() => void)[] = [];
  leaderReady(): boolean {
    return true;
  }
  leaseValid(): boolean {
    return true;
  }
  leaderOf(): string {
    return 'n1';
  }
  lastIndex(): number {
    return this.index;
  }
  propose(): { type: 'accepted'; index: number; term: number } {
    return { type: 'accepted', index: ++this.index, term: 1 };
  }
  waitCommitted(): Promise<void> {
    return new Promise((resolve) => this.commits.push(resolve));
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('fast checks under a backlog of uncommitted batches', () => {
  it('are answered at once below 8 uncommitted batches, wait for their batch at 8, and are answered at once again once commits drain', async () => {
    const host = new FakeHost();
    const service = new NodeCheckService('n1', host as unknown as MultiRaftHost, { version: 1, groupOf: () => 1 }, CONFIG, null, { wallNowMs: () => 1_000_000 });
    const machine = new ShardMachine(CONFIG);
    machine.onRoleChange('leader', toNodeId('n1'), 1 as Term);
    service.addGroup(1, machine);
    const check = (i: number) => service.check({ key: `k${i}`, resources: ['api'], cost: 1, tier: undefined, idempotencyId: undefined });

    // One check per turn: each turn seals its batch and proposes it; none commits.
    for (let i = 0; i < 8; i++) {
      const a = check(i);
      expect(a instanceof PendingAnswer || a instanceof Promise, `check ${i}`).toBe(false);
      await turn();
    }
    expect(host.commits.length).toBe(8);
    // The 9th waits for its batch.
    const waiting = check(8);
    expect(waiting).toBeInstanceOf(PendingAnswer);
    let settled = false;
    (waiting as PendingAnswer).batch.onSettled((err) => {
      expect(err).toBeNull();
      settled = true;
    });
    await turn();
    expect(settled).toBe(false);
    // Commits drain the backlog: the waiting check is answered, and fast is immediate again.
    for (const commit of host.commits.splice(0)) commit();
    await turn();
    expect(settled).toBe(true);
    const again = check(9);
    expect(again instanceof PendingAnswer).toBe(false);
    expect((again as { allowed: boolean }).allowed).toBe(true);
  });
});
