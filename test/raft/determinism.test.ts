// Proves the core is deterministic and keeps no module-level state: the same seed gives
// the same message trace, and two groups interleaved in one process behave exactly like
// each group run alone (multi-raft).
import { describe, expect, it } from 'vitest';
import { TestNet } from './support/net.js';

function run(net: TestNet, trace: string[], steps: number): void {
  for (let i = 0; i < steps; i++) {
    net.tickAll();
    const leader = net.leader();
    if (leader !== null && i % 3 === 0) net.proposeText(leader, `v${i}`);
    if (i === 40 && leader !== null) net.isolate(leader);
    if (i === 80) net.heal();
    net.stabilize();
  }
  for (const m of net.members.values()) trace.push(`${m.id}:${m.node.status().term}:${m.applied.join(',')}`);
}

describe('determinism', () => {
  it('the same seed yields the same trace', () => {
    const a: string[] = [];
    const b: string[] = [];
    run(TestNet.bootstrap(['a', 'b', 'c'], { seed: 42, trace: (l) => a.push(l) }), a, 120);
    run(TestNet.bootstrap(['a', 'b', 'c'], { seed: 42, trace: (l) => b.push(l) }), b, 120);
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
  });

  it('two groups interleaved in one process match each group run alone', () => {
    const alone1: string[] = [];
    const alone2: string[] = [];
    run(TestNet.bootstrap(['a', 'b', 'c'], { seed: 1, trace: (l) => alone1.push(l) }), alone1, 100);
    run(TestNet.bootstrap(['x', 'y', 'z'], { seed: 9, trace: (l) => alone2.push(l) }), alone2, 100);
    const mixed1: string[] = [];
    const mixed2: string[] = [];
    const g1 = TestNet.bootstrap(['a', 'b', 'c'], { seed: 1, trace: (l) => mixed1.push(l) });
    const g2 = TestNet.bootstrap(['x', 'y', 'z'], { seed: 9, trace: (l) => mixed2.push(l) });
    for (let i = 0; i < 100; i++) {
      for (const [net, out] of [[g1, mixed1], [g2, mixed2]] as const) {
        net.tickAll();
        const leader = net.leader();
        if (leader !== null && i % 3 === 0) net.proposeText(leader, `v${i}`);
        if (i === 40 && leader !== null) net.isolate(leader);
        if (i === 80) net.heal();
        net.stabilize();
        void out;
      }
    }
    for (const m of g1.members.values()) mixed1.push(`${m.id}:${m.node.status().term}:${m.applied.join(',')}`);
    for (const m of g2.members.values()) mixed2.push(`${m.id}:${m.node.status().term}:${m.applied.join(',')}`);
    expect(mixed1).toEqual(alone1);
    expect(mixed2).toEqual(alone2);
  });
});
