// Proves the signal path of adaptive limits keeps its contracts: report buckets hold any
// latency within 4.4% and the SDK and nodes read them alike; report frames and
// `POST /v1/report` bodies are validated field by field; the SDK's accumulator and a node's
// aggregator are bounded whatever callers send; the signal window merges intervals exactly
// (a merged histogram's p99 equals the p99 of all samples' buckets), its confidence
// intervals cover the true p99 about as often as they claim, and the Wilson interval is
// sound near 0; node pushes are validated before they count.
import { describe, expect, it } from 'vitest';
import { ReportAccumulator } from '../../client/reporter.js';
import { SignalWindow, rateInterval, reportPercentileIntervalMs, reportPercentileMs } from '../../src/adaptive/index.js';
import { readPush } from '../../src/node/adaptive/adaptive-service.js';
import { ReportAggregator } from '../../src/node/adaptive/report-aggregator.js';
import { REPORT_BUCKETS, REPORT_RESOURCES_MAX, readReportSamples, readReportSummaries, reportBucketOf, reportBucketValueMs } from '../../src/protocol/report.js';
import { decodeRequestFrame, encodeReportFrame, encodeRequestFrame } from '../../src/protocol/ws.js';
import { createSeededPrng } from '../../raft/index.js';

function uniform(seed: number): () => number {
  const p = createSeededPrng(seed);
  return () => (p.nextInt(0x1_0000_0000) + 0.5) / 0x1_0000_0000;
}

describe('report buckets', () => {
  it('each bucket value is within 4.4% of every latency in it, from 0.3 ms to 60 s', () => {
    for (let ms = 0.3; ms < 60_000; ms *= 1.013) {
      const v = reportBucketValueMs(reportBucketOf(ms));
      expect(Math.abs(v / ms - 1), `${ms} ms`).toBeLessThanOrEqual(0.0443);
    }
  });

  it('buckets are monotone and total: NaN, negatives and huge values have a bucket', () => {
    let last = 0;
    for (let ms = 0; ms < 100_000; ms += 7.3) {
      const b = reportBucketOf(ms);
      expect(b).toBeGreaterThanOrEqual(last);
      last = b;
    }
    expect(reportBucketOf(Number.NaN)).toBe(0);
    expect(reportBucketOf(-5)).toBe(0);
    expect(reportBucketOf(1e12)).toBe(REPORT_BUCKETS - 1);
  });
});

describe('report frames and bodies', () => {
  it('a report frame round-trips through the request-frame decoder, next to no checks', () => {
    const frame = decodeRequestFrame(encodeReportFrame([{ resource: 'search', count: 3, errors: 1, buckets: [[10, 2]] }]));
    expect(frame).toEqual({ ok: true, checks: [], reports: [{ resource: 'search', count: 3, errors: 1, buckets: [[10, 2]] }] });
    // A frame of checks alone still reads as before.
    expect(decodeRequestFrame(encodeRequestFrame([[1, { key: 'k' }]]))).toMatchObject({ ok: true, reports: [] });
  });

  it('malformed summaries are refused with the field named', () => {
    const bad: [unknown, string][] = [
      [[{ resource: 'bad name', count: 1, errors: 0, buckets: [] }], 'resource'],
      [[{ resource: 's', count: -1, errors: 0, buckets: [] }], 'count'],
      [[{ resource: 's', count: 1, errors: 2, buckets: [] }], 'errors'],
      [[{ resource: 's', count: 1, errors: 0, buckets: [[3, 1], [3, 1]] }], 'buckets'],
      [[{ resource: 's', count: 1, errors: 0, buckets: [[REPORT_BUCKETS, 1]] }], 'buckets'],
      [[{ resource: 's', count: 1, errors: 0, buckets: [[1, 2]] }], 'more than count'],
      [Array.from({ length: REPORT_RESOURCES_MAX + 1 }, () => ({ resource: 's', count: 0, errors: 0, buckets: [] })), 'at most'],
    ];
    for (const [raw, what] of bad) {
      const r = readReportSummaries(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toContain(what);
    }
  });

  it('POST /v1/report samples fold into one summary per resource', () => {
    const r = readReportSamples({ reports: [{ resource: 'a', latencyMs: 10, ok: true }, { resource: 'a', latencyMs: 10, ok: false }, { resource: 'b', ok: false }] });
    expect(r).toEqual({
      ok: true,
      value: [
        { resource: 'a', count: 2, errors: 1, buckets: [[reportBucketOf(10), 2]] },
        { resource: 'b', count: 1, errors: 1, buckets: [] },
      ],
    });
    for (const body of [{}, { reports: [] }, { reports: [{ resource: 'a', ok: 'yes' }] }, { reports: [{ resource: 'a', ok: true, latencyMs: -1 }] }, { reports: [{ resource: 'a', ok: true, extra: 1 }] }, { reports: [], more: 1 }]) {
      expect(readReportSamples(body).ok, JSON.stringify(body)).toBe(false);
    }
  });
});

describe('bounded accumulation', () => {
  it('the SDK accumulator sums per resource, drops beyond 64 resources per flush, and forgets silent ones', () => {
    const acc = new ReportAccumulator();
    for (let i = 0; i < 1000; i++) acc.add('search', { latencyMs: i % 2 === 0 ? 10 : 100, ok: i % 10 !== 0 });
    acc.add('search', { ok: true }); // no latency: counted, not bucketed
    for (let r = 0; r < 100; r++) acc.add(`r${r}`, { latencyMs: 1, ok: true });
    expect(acc.dropped).toBe(100 - (REPORT_RESOURCES_MAX - 1));
    const taken = acc.take();
    expect(taken.length).toBe(REPORT_RESOURCES_MAX);
    const search = taken.find((s) => s.resource === 'search');
    expect(search).toEqual({ resource: 'search', count: 1001, errors: 100, buckets: [[reportBucketOf(10), 500], [reportBucketOf(100), 500]] });
    expect(acc.take()).toEqual([]);
    acc.add('again', { latencyMs: 5, ok: true });
    expect(acc.take().map((s) => s.resource)).toEqual(['again']);
  });

  it('the SDK accumulator rejects caller mistakes by name', () => {
    const acc = new ReportAccumulator();
    expect(() => acc.add('bad name', { ok: true })).toThrow(/'resource'/);
    expect(() => acc.add('a', { ok: 'yes' } as never)).toThrow(/'ok'/);
    expect(() => acc.add('a', { ok: true, latencyMs: Number.NaN })).toThrow(/'latencyMs'/);
  });

  it('a node keeps only adaptive resources and hands out what it gathered once', () => {
    const agg = new ReportAggregator();
    agg.track(['search']);
    agg.add([
      { resource: 'search', count: 5, errors: 1, buckets: [[10, 5]] },
      { resource: 'other', count: 7, errors: 0, buckets: [] },
    ]);
    expect(agg.received).toBe(12);
    expect(agg.dropped).toBe(7);
    expect(agg.take().get('search')).toEqual({ resource: 'search', count: 5, errors: 1, buckets: [[10, 5]], admitted: 0, denied: 0 });
    expect(agg.take().get('search')).toMatchObject({ count: 0, buckets: [] });
    agg.track([]);
    expect(agg.take().size).toBe(0);
  });
});

describe('SignalWindow', () => {
  it('merges the last k intervals exactly, and forgets beyond its bound', () => {
    const w = new SignalWindow();
    const buckets = [10, 40, 80, 120];
    for (const b of buckets) {
      w.add('n1', { resource: 'r', count: 100, errors: 2, buckets: [[b, 100]], admitted: 50, denied: 10 }, { lagP99Ms: b / 10, cpu: 0.1 });
      w.add('n2', { resource: 'r', count: 100, errors: 0, buckets: [[b, 100]], admitted: 50, denied: 10 }, null);
      w.close(500);
    }
    const last = w.signals(1);
    expect(last).toMatchObject({ samples: 200, errors: 2, errorRate: 0.01, admittedPerSec: 200, deniedPerSec: 40, limiterLagP99Ms: 12, nodes: 2, intervals: 1 });
    expect(last.latencyP99Ms).toBe(reportBucketValueMs(120));
    const two = w.signals(2);
    expect(two).toMatchObject({ samples: 400, intervals: 2, admittedPerSec: 200 });
    // p99 of 400 samples, 200 in bucket 80 and 200 in bucket 120: bucket 120.
    expect(two.latencyP99Ms).toBe(reportBucketValueMs(120));
    expect(w.signals(99).intervals).toBe(4);
    w.close(500);
    expect(w.signals(4).samples).toBe(600); // the first interval rolled off for an empty one
  });

  it('its 90% interval of the p99 covers the true p99 about 90% of the time (exponential latencies, 500 reports)', () => {
    const rand = uniform(7);
    const meanMs = 50;
    const trueP99 = meanMs * Math.log(100);
    let covered = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const hist = new Float64Array(REPORT_BUCKETS);
      for (let i = 0; i < 500; i++) {
        const b = reportBucketOf(-meanMs * Math.log(rand()));
        hist[b] = (hist[b] as number) + 1;
      }
      const [lo, hi] = reportPercentileIntervalMs(hist, 0.99) as [number, number];
      // Bucket values stand for ±4.4%: widen by that before asking whether the true value is inside.
      if (lo / 1.045 <= trueP99 && trueP99 <= hi * 1.045) covered++;
      expect(lo).toBeLessThanOrEqual(reportPercentileMs(hist, 0.99) as number);
    }
    expect(covered / trials).toBeGreaterThan(0.85);
  });

  it('the Wilson interval is sound at 0 errors and narrows with more reports', () => {
    const [lo0, hi0] = rateInterval(0, 100);
    expect(lo0).toBe(0);
    expect(hi0).toBeGreaterThan(0.01);
    const [, hiMany] = rateInterval(0, 100_000);
    expect(hiMany).toBeLessThan(0.0001);
    const [lo, hi] = rateInterval(50, 1000);
    expect(lo).toBeLessThan(0.05);
    expect(hi).toBeGreaterThan(0.05);
    expect(rateInterval(0, 0)).toEqual([0, 1]);
  });
});

describe('node pushes', () => {
  it('a well-formed push reads back; anything else is refused', () => {
    const good = { v: 1, load: { lagP99Ms: 3, cpu: 0.5 }, resources: [{ resource: 'r', count: 2, errors: 0, buckets: [[5, 2]], admitted: 10, denied: 1 }] };
    expect(readPush(good)).toEqual(good);
    const bad: unknown[] = [
      null,
      { ...good, v: 2 },
      { ...good, load: { lagP99Ms: -1, cpu: 0 } },
      { ...good, load: { lagP99Ms: 1, cpu: Number.POSITIVE_INFINITY } },
      { ...good, resources: [{ ...good.resources[0], admitted: -1 }] },
      { ...good, resources: [{ ...good.resources[0], denied: 'x' }] },
      { ...good, resources: [{ ...good.resources[0], buckets: [[5, 3]] }] },
    ];
    for (const b of bad) expect(readPush(b), JSON.stringify(b)).toBeNull();
  });
});
