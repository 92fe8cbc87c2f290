// Proves a node's adaptive service (src/node/adaptive) on fake timers and an in-process
// meta group: caller reports and check counts reach the meta leader's controller as
// pushes, which writes factor changes through group 0 (one write in flight at most, each
// update conditional on the record it was decided from); a node that does not lead group 0
// sends its pushes to the leader and decides nothing; losing leadership drops the
// controller's state; and every node applying the same entries records the same factors at
// the same index (AppliedFactors).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetaStateMachine, encodeCommand, type MetaCommand, type MetaOutcome } from '../../cluster/meta/index.js';
import { parseConfig, type CompiledConfig } from '../../src/config/index.js';
import { AdaptiveService, ADAPTIVE_CHANNEL } from '../../src/node/adaptive/adaptive-service.js';
import { AppliedFactors, factorsFor } from '../../src/node/adaptive/applied-factors.js';
import { reportBucketOf } from '../../src/protocol/report.js';
import type { Entry, LogIndex, Term } from '../../raft/index.js';

const TEXT = `
resources:
  api: { limit: 1000, period: 1s, adaptive: { target: { latencyP99Ms: 100 }, intervalMs: 200 } }
  plain: { limit: 5, period: 1s }
`;

function compile(text: string): CompiledConfig {
  const r = parseConfig(text);
  if (!r.ok) throw new Error('invalid');
  return r.config;
}

/** One node's view of an in-process meta group: commands apply at once, in order. */
class FakeMeta {
  readonly machine = new MetaStateMachine();
  readonly base = compile(TEXT);
  readonly submitted: MetaCommand[] = [];
  private next = 1;
  /** When set, submits wait for this promise before applying (a write in flight). */
  gate: Promise<void> | null = null;

  constructor() {
    this.apply({ t: 'config', requestId: 'seed', format: 'yaml', text: TEXT, ifMatch: 0 });
  }

  apply(cmd: MetaCommand): MetaOutcome {
    const index = this.next++;
    this.machine.apply({ index: index as LogIndex, term: 1 as Term, type: 'normal', data: encodeCommand(cmd) } as Entry);
    return this.machine.outcome(cmd.requestId) as MetaOutcome;
  }

  served(): { version: number; config: CompiledConfig } {
    return { version: 1, config: this.base.withFactors(factorsFor(this.base, this.machine.factors())) };
  }

  async submit(make: (requestId: string) => MetaCommand): Promise<MetaOutcome> {
    const cmd = make(`req-${this.submitted.length + 1}`);
    this.submitted.push(cmd);
    if (this.gate !== null) await this.gate;
    return this.apply(cmd);
  }
}

describe('AdaptiveService', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1000;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function service(meta: FakeMeta, leader: { ready: boolean; id: string | null }, sent: [string, number, object][], counts = { admitted: 0, denied: 0 }): AdaptiveService {
    return new AdaptiveService({
      nodeId: 'n1',
      send: (to, channel, message) => sent.push([to, channel, message]),
      metaLeaderReady: () => leader.ready,
      metaLeader: () => leader.id,
      served: () => meta.served(),
      records: () => meta.machine.factors(),
      history: () => [],
      submit: (make) => meta.submit(make),
      decisions: (resource) => (resource === 'api' ? counts : null),
      load: { sample: () => ({ lagP99Ms: 1, cpu: 0.1 }) },
      clock: { monoNowMs: () => now, wallNowMs: () => 1_700_000_000_000 + now },
      logger: { info: () => undefined, warn: () => undefined },
    });
  }

  async function advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 25) {
      now += 25;
      await vi.advanceTimersByTimeAsync(25);
    }
  }

  it('on the meta leader: reports over the target become a factor decrease written through group 0', async () => {
    const meta = new FakeMeta();
    const counts = { admitted: 0, denied: 0 };
    const s = service(meta, { ready: true, id: 'n1' }, [], counts);
    s.start();
    for (let round = 0; round < 8; round++) {
      s.report([{ resource: 'api', count: 100, errors: 0, buckets: [[reportBucketOf(400), 100]] }]);
      counts.admitted += 90;
      counts.denied += 10;
      await advance(50);
    }
    s.stop();
    const written = meta.submitted.filter((c) => c.t === 'factors');
    expect(written.length).toBeGreaterThanOrEqual(1);
    const first = written[0];
    if (first?.t !== 'factors') throw new Error('no factors');
    expect(first.configVersion).toBe(1);
    expect(first.updates[0]).toMatchObject({ resource: 'api', factor: 0.75, ifIndex: 0 });
    expect(first.updates[0]?.reason).toContain('over target 100ms');
    expect(first.updates[0]?.signals).toMatchObject({ samples: expect.any(Number), latencyP99Ms: expect.any(Number), nodes: 1 });
    expect(meta.machine.factors().get('api')?.factor).toBeLessThan(1);
    expect(meta.served().config.resolve('k', 'api', undefined)?.limit).toBeLessThan(1000);
    expect((s.view()['resources'] as { controller: unknown }[])[0]?.controller).not.toBeNull();
  });

  it('keeps one write in flight at most, and decides the next step from the factor it wrote', async () => {
    const meta = new FakeMeta();
    let open: () => void = () => undefined;
    meta.gate = new Promise((r) => (open = r));
    const s = service(meta, { ready: true, id: 'n1' }, []);
    s.start();
    for (let round = 0; round < 16; round++) {
      s.report([{ resource: 'api', count: 100, errors: 0, buckets: [[reportBucketOf(400), 100]] }]);
      await advance(50);
    }
    expect(meta.submitted.length).toBe(1); // the first is still in flight
    meta.gate = null;
    open();
    for (let round = 0; round < 8; round++) {
      s.report([{ resource: 'api', count: 100, errors: 0, buckets: [[reportBucketOf(400), 100]] }]);
      await advance(50);
    }
    s.stop();
    const outcomes = meta.submitted.map((c) => meta.machine.outcome(c.requestId)?.status);
    expect(outcomes.every((o) => o === 'applied')).toBe(true);
    expect(meta.submitted.length).toBeGreaterThanOrEqual(2);
  });

  it('off the meta leader: pushes go to the leader on the adaptive channel, and nothing is decided here', async () => {
    const meta = new FakeMeta();
    const sent: [string, number, object][] = [];
    const counts = { admitted: 0, denied: 0 };
    const s = service(meta, { ready: false, id: 'n2' }, sent, counts);
    s.start();
    s.report([{ resource: 'api', count: 3, errors: 1, buckets: [[10, 3]] }, { resource: 'plain', count: 5, errors: 0, buckets: [] }]);
    counts.admitted = 10;
    await advance(100);
    counts.admitted = 25;
    counts.denied = 4;
    await advance(100);
    s.stop();
    expect(meta.submitted).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    for (const [to, channel] of sent) expect([to, channel]).toEqual(['n2', ADAPTIVE_CHANNEL]);
    const pushes = sent.map(([, , m]) => m as { resources: { resource: string; count: number; admitted: number; denied: number }[] });
    // Only adaptive resources travel; counts are deltas since the previous push.
    expect(pushes.every((p) => p.resources.map((r) => r.resource).join() === 'api')).toBe(true);
    expect(pushes.reduce((n, p) => n + (p.resources[0]?.count ?? 0), 0)).toBe(3);
    expect(pushes.reduce((n, p) => n + (p.resources[0]?.admitted ?? 0), 0)).toBe(15);
    expect(pushes.reduce((n, p) => n + (p.resources[0]?.denied ?? 0), 0)).toBe(4);
    s.receive('n3', pushes[0]);
    expect(s.counters.pushesRefused).toBe(1); // not the leader: nothing to gather for
  });

  it('losing leadership drops the controller state; regaining it starts afresh from the replicated factor', async () => {
    const meta = new FakeMeta();
    meta.apply({ t: 'factors', requestId: 'x', configVersion: 1, atMs: 0, updates: [{ resource: 'api', factor: 0.5, reason: 'earlier', signals: {}, ifIndex: 0 }] });
    const leader = { ready: true, id: 'n1' as string | null };
    const s = service(meta, leader, []);
    s.start();
    await advance(100);
    expect(s.view()['controllerHere']).toBe(true);
    leader.ready = false;
    leader.id = 'n2';
    await advance(50);
    expect(s.view()['controllerHere']).toBe(false);
    leader.ready = true;
    for (let round = 0; round < 8; round++) {
      s.report([{ resource: 'api', count: 100, errors: 0, buckets: [[reportBucketOf(400), 100]] }]);
      await advance(50);
    }
    s.stop();
    const w = meta.submitted.find((c) => c.t === 'factors');
    if (w?.t !== 'factors') throw new Error('no write');
    expect(w.updates[0]).toMatchObject({ factor: 0.375, ifIndex: 2 });
  });
});

describe('AppliedFactors', () => {
  it('records the same (index, factor) on every node that applies the same entries, whenever it starts', () => {
    const base = compile(TEXT);
    const cmds: MetaCommand[] = [
      { t: 'config', requestId: 'seed', format: 'yaml', text: TEXT, ifMatch: 0 },
      { t: 'factors', requestId: 'a', configVersion: 1, atMs: 0, updates: [{ resource: 'api', factor: 0.8, reason: '', signals: {}, ifIndex: 0 }] },
      { t: 'factors', requestId: 'b', configVersion: 1, atMs: 0, updates: [{ resource: 'api', factor: 0.6, reason: '', signals: {}, ifIndex: 2 }] },
      { t: 'freeze', requestId: 'f', resource: 'api', frozen: true, atMs: 0, reason: '' },
    ];
    const histories = [0, 1].map(() => {
      const m = new MetaStateMachine();
      const applied = new AppliedFactors();
      m.listen({ onFactors: (_r, index) => applied.apply(base.withFactors(factorsFor(base, m.factors())), m.factors(), index, 1) });
      cmds.forEach((c, i) => m.apply({ index: (i + 1) as LogIndex, term: 1 as Term, type: 'normal', data: encodeCommand(c) } as Entry));
      return applied.history();
    });
    expect(histories[0]).toEqual([
      { index: 2, resource: 'api', factor: 0.8, frozen: false, configVersion: 1 },
      { index: 3, resource: 'api', factor: 0.6, frozen: false, configVersion: 1 },
      { index: 4, resource: 'api', factor: 0.6, frozen: true, configVersion: 1 },
    ]);
    expect(histories[1]).toEqual(histories[0]);
  });
});
