// Proves snapshots: a follower behind the leader's compaction point is caught up with a
// chunked InstallSnapshot that carries the configuration, lost chunks are resent, a
// snapshot replaced mid-stream restarts the transfer, and a restarted node resumes from
// its snapshot.
import { describe, expect, it } from 'vitest';
import { toLogIndex, toNodeId } from '../../raft/index.js';
import type { Message } from '../../raft/index.js';
import { electedNet } from './support/net.js';
import type { TestNet } from './support/net.js';

function compactLeader(net: TestNet, id: string): void {
  const m = net.get(id);
  const st = m.node.status();
  m.storage.createSnapshot(st.applied, st.confStateApplied, new TextEncoder().encode(m.applied.join('\n')));
  m.storage.compact(st.applied);
}

function laggingFollower(chunkBytes: number): TestNet {
  const net = electedNet(['a', 'b', 'c'], { nodeOptions: { snapshotChunkBytes: chunkBytes } });
  net.isolate('c');
  for (let i = 0; i < 10; i++) net.proposeText('a', `v${i}`);
  net.stabilize();
  compactLeader(net, 'a');
  net.heal();
  return net;
}

describe('snapshots', () => {
  it('catches up a follower behind the compaction point in chunks', () => {
    const net = laggingFollower(4);
    const chunks: Message[] = [];
    net.tick('a');
    for (let i = 0; i < 200 && (net.inflight.length > 0 || net.processAll()); i++) {
      for (const m of net.inflight) if (m.type === 'installSnapshot') chunks.push(m);
      net.deliver();
      net.processAll();
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(net.get('c').applied).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
    expect(net.node('c').status().commit).toBe(12);
    expect(net.node('a').status().progress.get(toNodeId('c'))?.state).toBe('replicate');
  });

  it('resends a lost chunk after a few heartbeats', () => {
    const net = laggingFollower(8);
    net.tick('a');
    net.processAll();
    net.deliver();
    net.processAll();
    // Lose the first chunk.
    net.inflight = net.inflight.filter((m) => m.type !== 'installSnapshot');
    net.deliver();
    for (let i = 0; i < 5; i++) {
      net.tick('a');
      net.stabilize();
    }
    expect(net.get('c').applied).toHaveLength(10);
  });

  it('restarts the transfer when the snapshot is replaced mid-stream', () => {
    const net = laggingFollower(4);
    net.tick('a');
    for (let i = 0; i < 3; i++) {
      net.processAll();
      net.deliver();
    }
    net.proposeText('a', 'more');
    net.isolate('c');
    net.stabilize();
    net.heal();
    compactLeader(net, 'a');
    for (let i = 0; i < 5; i++) {
      net.tick('a');
      net.stabilize();
    }
    expect(net.get('c').applied.at(-1)).toBe('more');
  });

  it('a restarted follower resumes from its installed snapshot and log', () => {
    const net = laggingFollower(1024);
    net.tick('a');
    net.stabilize();
    net.crash('c');
    const m = net.restart('c');
    expect(m.node.status().commit).toBe(12);
    expect(m.node.status().applied).toBe(12);
    expect(m.node.status().confState.voters).toEqual(['a', 'b', 'c']);
    expect(m.storage.snapshot().index).toBe(toLogIndex(12));
  });
});
