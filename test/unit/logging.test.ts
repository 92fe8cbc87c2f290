// Proves the node's pino setup: JSON lines carry nodeId, component and groupId from child
// loggers with constant messages; secrets (cluster secret, tokens, Authorization headers)
// never reach the output; the Raft host logs elections and leader changes at info bound
// to the group; and the pretty printer used by `npm start` renders those lines.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import type { GroupStateMachine } from '../../cluster/host/types.js';
import { createSeededPrng, toNodeId, type Entry } from '../../raft/index.js';
import { componentLogger, createNodeLogger, formatPrettyLine, REDACTED } from '../../src/node/logging.js';
import { parseNodeOptions } from '../../src/node/options.js';
import { MemoryNodeStorage } from '../../storage/index.js';
import { waitFor } from '../support/wait-for.js';

/** Collects pino's output, one parsed object per line. */
function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = (): string => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Waits for pino's (synchronous-ish) stream writes to land. */
const flushed = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('node logger', () => {
  it('binds nodeId on every line and component/groupId on child loggers, with the data in fields', async () => {
    const out = capture();
    const root = createNodeLogger({ nodeId: 'n7', level: 'info' }, out.stream);
    componentLogger(root, 'raft', 3).info({ leader: 'n2', term: 4 }, 'leader changed');
    componentLogger(root, 'api').warn({ port: 7001 }, 'listener closed');
    await flushed();
    const [a, b] = out.lines();
    expect(a).toMatchObject({ level: 30, nodeId: 'n7', component: 'raft', groupId: 3, leader: 'n2', term: 4, msg: 'leader changed' });
    expect(typeof a?.['time']).toBe('string');
    expect(b).toMatchObject({ level: 40, nodeId: 'n7', component: 'api', port: 7001, msg: 'listener closed' });
    expect(b).not.toHaveProperty('groupId');
  });

  it('redacts the cluster secret, tokens and Authorization headers wherever they are logged', async () => {
    const out = capture();
    const logger = createNodeLogger({ nodeId: 'n1', level: 'info' }, out.stream);
    const secret = 'super-secret-cluster-key-0123456789';
    logger.info({ clusterSecret: secret }, 'top level');
    logger.info({ options: { id: 'n1', clusterSecret: secret, listenPort: 7001 } }, 'node options');
    logger.info({ req: { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'x-admin-token': secret } } }, 'request');
    logger.info({ headers: { authorization: `Basic ${secret}`, cookie: secret } }, 'headers');
    logger.info({ admin: { adminToken: secret }, client: { clientToken: secret }, token: secret }, 'tokens');
    await flushed();
    expect(out.text()).not.toContain(secret);
    const [top, opts, req, headers, tokens] = out.lines();
    expect(top?.['clusterSecret']).toBe(REDACTED);
    expect(opts?.['options']).toEqual({ id: 'n1', clusterSecret: REDACTED, listenPort: 7001 });
    expect(req?.['req']).toEqual({ method: 'POST', headers: { authorization: REDACTED, 'x-admin-token': REDACTED } });
    expect(headers?.['headers']).toEqual({ authorization: REDACTED, cookie: REDACTED });
    expect(tokens).toMatchObject({ admin: { adminToken: REDACTED }, client: { clientToken: REDACTED }, token: REDACTED });
  });

  it('logs the parsed rl-node options without the cluster secret or the tokens', async () => {
    const out = capture();
    const logger = createNodeLogger({ nodeId: 'n1', level: 'info' }, out.stream);
    const secrets = { RL_CLUSTER_SECRET: 'cluster-secret-0123456789abcdef', RL_ADMIN_TOKEN: 'admin-token-0123456789abcdef', RL_CLIENT_TOKEN: 'client-token-0123456789abcdef' };
    const options = parseNodeOptions(['--id', 'n1', '--data', '/tmp/n1', '--config', 'limits.yaml'], secrets);
    logger.info({ options }, 'node options');
    await flushed();
    for (const s of Object.values(secrets)) expect(out.text()).not.toContain(s);
    expect(out.lines()[0]?.['options']).toMatchObject({ id: 'n1', clusterSecret: REDACTED });
  });

  it('writes nothing below its level, and refuses an unknown level by name', async () => {
    const out = capture();
    const logger = createNodeLogger({ nodeId: 'n1', level: 'warn' }, out.stream);
    logger.info({ key: 'user:42' }, 'check answered');
    logger.debug({ key: 'user:42' }, 'check answered');
    await flushed();
    expect(out.text()).toBe('');
    expect(() => createNodeLogger({ nodeId: 'n1', level: 'loud' })).toThrow(/'logLevel' must be one of .* \(got "loud"\)/);
  });
});

class CountingMachine implements GroupStateMachine {
  applied = 0;
  appliedIndex(): number {
    return this.applied;
  }
  apply(entry: Entry): void {
    this.applied = entry.index;
  }
  async restore(): Promise<void> {}
  *snapshotChunks(): Iterable<Uint8Array> {}
  onRoleChange(): void {}
}

describe('Raft host logs', () => {
  it('logs the election and the leader change at info, bound to component and groupId', async () => {
    const out = capture();
    const root = createNodeLogger({ nodeId: 'n1', level: 'info' }, out.stream);
    const storage = await MemoryNodeStorage.open();
    const host = new MultiRaftHost(
      { nodeId: toNodeId('n1'), tickIntervalMs: 5, raft: { electionTimeoutTicks: 10, clockDriftMsMax: 10 } },
      { storage, transport: { send: () => undefined, onMessage: () => undefined }, clock: { nowMs: () => performance.now() }, prng: createSeededPrng(1), logger: componentLogger(root, 'raft') },
    );
    await host.addGroup(5, { bootstrap: { voters: [toNodeId('n1')], learners: [] }, stateMachine: new CountingMachine() });
    host.start();
    try {
      host.campaign(5);
      await waitFor(() => host.leaderOf(5) === 'n1', 5000);
      await flushed();
      const lines = out.lines();
      const election = lines.find((l) => l['msg'] === 'election started');
      const leader = lines.find((l) => l['msg'] === 'leader changed');
      expect(election).toMatchObject({ level: 30, nodeId: 'n1', component: 'raft', groupId: 5 });
      expect(leader).toMatchObject({ level: 30, nodeId: 'n1', component: 'raft', groupId: 5, leader: 'n1', previousLeader: null, role: 'leader' });
      expect(host.groupStats(5)).toMatchObject({ elections: 1, leaderChanges: 1, role: 'leader' });
    } finally {
      host.stop();
      await storage.close();
    }
  });
});

describe('pretty printer (npm start in a terminal)', () => {
  it('renders time, level, context, message and fields on one line', () => {
    const line = JSON.stringify({ level: 30, time: '2026-11-28T12:00:01.234Z', nodeId: 'n1', component: 'raft', groupId: 3, msg: 'leader changed', leader: 'n2', term: 4 });
    expect(formatPrettyLine(line, false)).toBe('12:00:01.234 INFO  n1 raft g3  leader changed  leader=n2 term=4');
  });

  it('shows an error message and stack, colours levels, and passes non-JSON lines through', () => {
    const line = JSON.stringify({ level: 50, time: '2026-11-28T12:00:01.234Z', nodeId: 'n1', msg: 'node failed to start', err: { message: 'EADDRINUSE', stack: 'Error: EADDRINUSE\n    at listen (net.js:1)' } });
    const pretty = formatPrettyLine(line, true);
    expect(pretty).toContain('\x1b[31mERROR');
    expect(pretty).toContain('node failed to start  err=EADDRINUSE\n    at listen (net.js:1)');
    expect(formatPrettyLine('plain text from a child', true)).toBe('plain text from a child');
    expect(formatPrettyLine('[1,2]', false)).toBe('[1,2]');
  });
});
