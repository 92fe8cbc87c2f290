/**
 * Load generator for `npm run bench:node`, run in its own process: opens one WebSocket
 * per node, routes every key to the node that leads its group (slot → group → leader,
 * from /v1/cluster), and sends frames of `batch` checks, either as fast as `inflight`
 * frames per connection allow (saturation) or at a fixed offered rate. Prints one JSON
 * line: checks/s, latency percentiles, answered/failed counts.
 *
 *   tsx test/bench/node-load.ts --nodes http://127.0.0.1:7001,... --seconds 10 --batch 100 [--rate 50000]
 */
import WebSocket from 'ws';
import { slotOf } from '../../src/protocol/slot.js';
import { MsgpackWriter } from '../../src/protocol/msgpack-writer.js';
import { parseWorkload, workloadSpec } from './workloads.js';
import { WS_PROTOCOL_VERSION, decodeReplyFrame } from '../../src/protocol/ws.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
const nodeUrls = arg('nodes', 'http://127.0.0.1:7001').split(',');
const seconds = Number(arg('seconds', '10'));
const batch = Number(arg('batch', '100'));
const inflight = Number(arg('inflight', '8'));
const rate = Number(arg('rate', '0'));
const keyCount = Number(arg('keys', '100000'));
const workloadArg = arg('workload', '');
// Without --workload: keys bench:0..keys-1 in order on resource `bench` (bench:node's traffic).
const spec = workloadArg === '' ? null : workloadSpec(parseWorkload(workloadArg));
const resources = spec?.resources ?? [arg('resource', 'bench')];

interface View {
  node: string;
  nodes: string[];
  groups: { id: number; leader: string | null }[];
}

const views = await Promise.all(nodeUrls.map(async (u) => (await (await fetch(`${u}/v1/cluster`)).json()) as View));
const urlOf = new Map(views.map((v, i) => [v.node, nodeUrls[i] as string]));
const groups = (views[0] as View).groups;
// A node reports leaders only for the groups it hosts: take each group's leader from any view that knows it.
const leaderOf = new Map<number, string>();
for (const v of views) for (const g of v.groups) if (g.leader !== null && !leaderOf.has(g.id)) leaderOf.set(g.id, g.leader);
const leaderUrl = (key: string): string => {
  const g = groups[slotOf(key) % groups.length];
  return urlOf.get(leaderOf.get(g?.id ?? -1) ?? '') ?? (nodeUrls[0] as string);
};

// Keys pre-sorted by the node that leads them, so each frame goes to one leader.
// The workload's sequence is split by leader in order, so each connection keeps its skew.
const keysByUrl = new Map<string, string[]>(nodeUrls.map((u) => [u, []]));
const sequence = spec?.keys ?? Array.from({ length: keyCount }, (_, i) => `bench:${i}`);
for (const key of sequence) keysByUrl.get(leaderUrl(key))?.push(key);

const latenciesUs: number[] = [];
let answered = 0;
let failed = 0;
/** Failed answers by error code (bounded by the protocol's code list). */
const failedCodes = new Map<string, number>();
let allowed = 0;
let sentFrames = 0;
const deadline = performance.now() + seconds * 1000;

// The generator's own lateness: a check due while this process waited for a CPU (or for
// its own GC) is charged that wait, so the output says how long its event loop stalled.
let loopStalls = 0;
let loopStallMaxMs = 0;
let lastLoopAt = performance.now();
const loopWatch = setInterval(() => {
  const now = performance.now();
  if (now - lastLoopAt > 6) {
    loopStalls++;
    loopStallMaxMs = Math.max(loopStallMaxMs, now - lastLoopAt);
  }
  lastLoopAt = now;
}, 2);
loopWatch.unref();

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  return ws;
}

const conns = await Promise.all(nodeUrls.filter((u) => (keysByUrl.get(u) ?? []).length > 0).map(async (u) => ({ url: u, ws: await open(u), keys: keysByUrl.get(u) as string[], cursor: 0 })));
/**
 * Frame n carries check ids n*batch .. n*batch+batch-1, so a reply finds its frame by
 * division; open frames live in a map by frame number (one entry per frame, not per
 * check). Frames are written with the same small msgpack writer the node replies with,
 * so the generator spends little of the two cores it shares with the cluster.
 */
let nextFrame = 0;
const frames = new Map<number, { sentAt: number; left: number }>();
const writer = new MsgpackWriter();

function sendFrame(c: (typeof conns)[number], dueAt?: number): void {
  const n = nextFrame++;
  writer.reset();
  writer.array(2);
  writer.num(WS_PROTOCOL_VERSION);
  writer.array(batch);
  for (let i = 0; i < batch; i++) {
    const key = c.keys[c.cursor++ % c.keys.length] as string;
    writer.array(2);
    writer.num(n * batch + i);
    writer.map(2);
    writer.str('key');
    writer.str(key);
    if (resources.length === 1) {
      writer.str('resource');
      writer.str(resources[0] as string);
    } else {
      writer.str('resources');
      writer.array(resources.length);
      for (const r of resources) writer.str(r);
    }
  }
  // Open loop: latency counts from when the frame was due, not when it left (no coordinated omission).
  frames.set(n, { sentAt: dueAt ?? performance.now(), left: batch });
  sentFrames++;
  c.ws.send(writer.finish());
}

await new Promise<void>((done) => {
  let openFrames = 0;
  for (const c of conns) {
    c.ws.on('message', (data: Buffer) => {
      const replies = decodeReplyFrame(new Uint8Array(data));
      const at = performance.now();
      let finished = 0;
      for (const r of replies) {
        const fn = Math.floor(r.id / batch);
        const f = frames.get(fn);
        if (r.ok) {
          answered++;
          if (r.output.allowed) allowed++;
          if (f !== undefined) latenciesUs.push(Math.round((at - f.sentAt) * 1000));
        } else {
          failed++;
          failedCodes.set(r.error.code, (failedCodes.get(r.error.code) ?? 0) + 1);
        }
        if (f !== undefined && --f.left === 0) {
          frames.delete(fn);
          finished++;
        }
      }
      if (finished === 0) return;
      openFrames -= finished;
      if (rate === 0 && performance.now() < deadline) {
        for (let k = 0; k < finished; k++) {
          openFrames++;
          sendFrame(c);
        }
      } else if (openFrames === 0 && performance.now() >= deadline) done();
    });
  }
  if (rate === 0) {
    for (const c of conns) for (let i = 0; i < inflight; i++) {
      openFrames++;
      sendFrame(c);
    }
  } else {
    // Fixed offered rate: one frame per connection every interval, whatever the answers do.
    const framesPerSec = rate / batch;
    const intervalMs = (1000 * conns.length) / framesPerSec;
    let k = 0;
    const timer = setInterval(() => {
      if (performance.now() >= deadline) {
        clearInterval(timer);
        if (openFrames === 0) done();
        return;
      }
      const start = deadline - seconds * 1000;
      // Frame k is due at start + k × interval: send every frame whose time has come
      // (k ≤ elapsed / interval). Counting only completed intervals sent each frame one
      // interval late, which added up to 60 ms to every latency at low rates.
      const due = Math.floor((performance.now() - start) / intervalMs) + 1;
      while (k < due) {
        for (const c of conns) {
          openFrames++;
          sendFrame(c, start + k * intervalMs);
        }
        k++;
      }
    }, 1);
  }
  setTimeout(() => done(), seconds * 1000 + 15_000).unref(); // bounded even if answers stop
});

for (const c of conns) c.ws.close();
latenciesUs.sort((a, b) => a - b);
const pct = (p: number): number => (latenciesUs.length === 0 ? 0 : (latenciesUs[Math.min(latenciesUs.length - 1, Math.floor((p / 100) * latenciesUs.length))] as number) / 1000);
process.stdout.write(
  `${JSON.stringify({
    checks_per_sec: Math.round(answered / seconds),
    answered,
    failed,
    failed_codes: Object.fromEntries(failedCodes),
    allowed,
    denied: answered - allowed,
    frames: sentFrames,
    p50_ms: pct(50),
    p99_ms: pct(99),
    p999_ms: pct(99.9),
    batch,
    inflight,
    offered_rate: rate,
    cpu_ms: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
    generator_loop_stalls_over_6ms: loopStalls,
    generator_loop_stall_max_ms: Math.round(loopStallMaxMs * 10) / 10,
  })}\n`,
);
process.exit(0);
