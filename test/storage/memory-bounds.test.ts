// Proves the in-memory structures behind synchronous reads stay bounded and correct: the
// entry cache keeps the newest entries within its byte budget (pinning what is not yet
// durable, restarting on truncation), term runs answer every term, and the LevelDB group
// serves evicted entries from disk with its cache held to the bound.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entrySizeBytes, toLogIndex } from '../../raft/index.js';
import { LevelNodeStorage } from '../../storage/index.js';
import { EntryCache } from '../../storage/entry-cache.js';
import type { LevelGroupStorage } from '../../storage/level-group-storage.js';
import { TermRuns } from '../../storage/term-runs.js';
import { ent, ents, G1, hs, rd } from './fixtures.js';
import { makeTempDir, removeDir } from './temp-dir.js';

describe('EntryCache', () => {
  it('keeps the newest entries within its budget, pinning those not yet durable', () => {
    const size = entrySizeBytes(ent(1, 1, 100));
    const cache = new EntryCache(size * 3);
    cache.append(ents(1, 5, 1, 100), 1);
    expect(cache.length).toBe(5); // write 1 not durable yet: all pinned
    cache.markDurable(1);
    expect([cache.length, cache.firstIndex, cache.bytes]).toEqual([3, 3, size * 3]);
    expect(cache.get(2)).toBeUndefined();
    expect(cache.get(4)).toEqual(ent(4, 1, 100));
    cache.append(ents(4, 4, 2, 100), 2); // truncates 4-5, appends a new 4
    expect([cache.length, cache.get(4)?.term, cache.get(5)]).toEqual([2, 2, undefined]);
    cache.append(ents(2, 3, 3, 100), 3); // before the cache: restarts at 2
    expect([cache.firstIndex, cache.length]).toEqual([2, 2]);
    cache.dropThrough(2);
    expect([cache.firstIndex, cache.length]).toEqual([3, 1]);
    for (let i = 4; i < 2000; i++) cache.append([ent(i, 3, 100)], 4);
    cache.markDurable(4);
    expect(cache.bytes).toBeLessThanOrEqual(size * 3);
    expect(cache.get(1999)).toEqual(ent(1999, 3, 100));
  });
});

describe('TermRuns', () => {
  it('answers the term of every entry after appends, truncations and compaction', () => {
    const runs = new TermRuns();
    const terms = [1, 1, 1, 2, 2, 5, 5, 5, 5, 6];
    terms.forEach((t, k) => runs.push(k + 1, t));
    expect(runs.runCount).toBe(4);
    expect(terms.map((_, k) => runs.termAt(k + 1))).toEqual(terms);
    runs.truncateFrom(7);
    runs.push(7, 7);
    expect([6, 7].map((i) => runs.termAt(i))).toEqual([5, 7]);
    runs.dropThrough(4);
    expect([5, 6, 7].map((i) => runs.termAt(i))).toEqual([2, 5, 7]);
    expect(() => runs.termAt(4)).toThrow();
  });
});

describe('LevelDB group memory', () => {
  it('holds its entry cache to the bound and serves older entries from disk, verified', async () => {
    const dir = await makeTempDir('bounds');
    try {
      const node = await LevelNodeStorage.open({ location: join(dir, 'db'), fsync: 'off', groupEntryCacheBytesMax: 64 * 1024 });
      const g = await node.createGroup(G1, { bootstrap: null });
      for (let i = 1; i <= 400; i += 20) await g.persist(rd({ entries: ents(i, i + 19, 1, 1000), hardState: hs(1, i) }));
      const stats = (g as LevelGroupStorage).cacheStats();
      expect(stats.bytes).toBeLessThanOrEqual(64 * 1024);
      expect(stats.firstIndex).toBeGreaterThan(300);
      expect(stats.termRuns).toBe(1);
      const before = node.stats().cacheMisses;
      expect(g.entries(toLogIndex(1), toLogIndex(401), 1 << 30)).toEqual(ents(1, 400, 1, 1000));
      expect(node.stats().cacheMisses - before).toBe(stats.firstIndex - 1);
      await node.close();
    } finally {
      await removeDir(dir);
    }
  });
});
