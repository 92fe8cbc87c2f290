/**
 * Throughput of the peer transport between two nodes on loopback, both in this process
 * (one event loop does the sending, encoding, framing, decoding and delivery, so this is
 * a lower bound for two processes). Sends 100-message batches, one batch per event-loop
 * turn, keeping at most WINDOW_MESSAGES unacknowledged so nothing is dropped.
 *
 *   npx tsx test/cluster/transport.bench.ts
 */
import { PeerTransport } from '../../cluster/transport/index.js';

const BATCH_MESSAGES = 100;
/** Messages sent but not yet received, at most: keeps the queue far from its default bounds. */
const WINDOW_MESSAGES = 20_000;
const SECRET = 'bench-cluster-secret-0123456789';

interface Case {
  readonly name: string;
  readonly messages: number;
  readonly make: (i: number) => object;
}

const payload1k = new Uint8Array(1024);
const cases: Case[] = [
  {
    name: 'heartbeat-sized (~60 B encoded)',
    messages: 2_000_000,
    make: (i) => ({ type: 'heartbeat', from: 'a', to: 'b', term: 12, commit: 1000 + i, seq: i }),
  },
  {
    name: 'appendEntries with one 1 KiB entry',
    messages: 300_000,
    make: (i) => ({
      type: 'appendEntries',
      from: 'a',
      to: 'b',
      term: 12,
      prevLogIndex: i,
      prevLogTerm: 12,
      commit: i,
      entries: [{ index: i + 1, term: 12, type: 'normal', data: payload1k }],
    }),
  },
];

async function runCase(c: Case): Promise<void> {
  const b = new PeerTransport({ nodeId: 'b', listenHost: '127.0.0.1', listenPort: 0, peers: { a: '127.0.0.1:1' }, clusterSecret: SECRET });
  let received = 0;
  b.onMessage(() => {
    received += 1;
  });
  const { port } = await b.start();
  const a = new PeerTransport({ nodeId: 'a', listenHost: '127.0.0.1', listenPort: 0, peers: { b: `127.0.0.1:${port}` }, clusterSecret: SECRET });
  await a.start();
  // Bounded: the connection comes up within a few ms on loopback; 5 s cap.
  for (let i = 0; i < 5000 && a.peerState('b') !== 'connected'; i++) await new Promise((r) => setTimeout(r, 1));

  const t0 = performance.now();
  let sent = 0;
  // Bounded: every iteration either sends a batch or waits a turn for the receiver.
  while (sent < c.messages) {
    if (sent - received < WINDOW_MESSAGES) {
      for (let i = 0; i < BATCH_MESSAGES; i++) {
        if (!a.send('b', i, c.make(sent))) throw new Error('dropped: the window is too large for the queue bounds');
        sent += 1;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  // Bounded: the receiver catches up; 60 s cap.
  for (let i = 0; i < 60_000 && received < c.messages; i++) await new Promise((r) => setTimeout(r, 1));
  const seconds = (performance.now() - t0) / 1000;
  const s = a.stats().peers['b'];
  const mib = (s?.bytesSent ?? 0) / (1024 * 1024);
  console.log(
    `${c.name}: ${c.messages} messages in ${seconds.toFixed(2)} s = ${Math.round(c.messages / seconds).toLocaleString('en-US')} msg/s, ` +
      `${(mib / seconds).toFixed(1)} MiB/s, ${s?.framesSent} frames (${((s?.messagesSent ?? 0) / (s?.framesSent ?? 1)).toFixed(1)} msg/frame), drops ${s?.messagesDropped}`,
  );
  await Promise.all([a.close(), b.close()]);
}

console.log(`node ${process.version}, batches of ${BATCH_MESSAGES} messages per turn`);
for (const c of cases) await runCase(c);
