// Proves the node's non-Raft transport channels are distinct and never collide with a
// shard group id: a second use of one id silently swallows the other's messages (found
// once: the adaptive pushes and the split driver's load reports shared 0xfffffffc).
import { describe, expect, it } from 'vitest';
import { ADAPTIVE_CHANNEL } from '../../src/node/adaptive/adaptive-service.js';
import { CLOCK_CHANNEL } from '../../src/node/clock-skew.js';
import { FORWARD_CHANNEL } from '../../src/node/forwarder.js';
import { META_CHANNEL } from '../../src/node/meta/meta-rpc.js';
import { LOAD_CHANNEL } from '../../src/node/placement/split-driver.js';

describe('transport channels', () => {
  it('are distinct and above every group id', () => {
    const channels = [ADAPTIVE_CHANNEL, LOAD_CHANNEL, META_CHANNEL, CLOCK_CHANNEL, FORWARD_CHANNEL];
    expect(new Set(channels).size).toBe(channels.length);
    // Shard group ids stay far below: the meta codec accepts at most 65,536 groups.
    for (const c of channels) expect(c).toBeGreaterThan(65_536);
  });
});
