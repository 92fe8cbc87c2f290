// Proves the transport's pure parts without sockets: frame splitting under any chunking (property, fast-check), the frame-size check before buffering, send-queue bounds and sealing, backoff bands and determinism, the handshake MAC's binding to role/ids/nonces, and option validation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from '../../cluster/transport/backoff.js';
import { FrameReader, FrameTooLargeError } from '../../cluster/transport/frame-reader.js';
import { handshakeMac, macMatches } from '../../cluster/transport/handshake.js';
import { LogLimiter } from '../../cluster/transport/log-limiter.js';
import { resolveTransportOptions, TRANSPORT_OPTION_DEFAULTS } from '../../cluster/transport/options.js';
import type { TransportOptions } from '../../cluster/transport/options.js';
import { parsePeerAddress } from '../../cluster/transport/peer-address.js';
import { SendQueue } from '../../cluster/transport/send-queue.js';
import { decodeValue, encodePair, parseDataFrame } from '../../cluster/transport/wire.js';
import { createSeededPrng } from '../../raft/prng.js';
import { fcParams } from '../support/fc-params.js';
import { specMac } from './transport-support.js';

function frame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

function drain(reader: FrameReader): Buffer[] {
  const out: Buffer[] = [];
  // Bounded: each call consumes input or returns null.
  for (let body = reader.next(); body !== null; body = reader.next()) out.push(Buffer.from(body));
  return out;
}

describe('FrameReader', () => {
  it('yields the same frames however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => frame(Buffer.from(b))));
          const reader = new FrameReader(300);
          const got: Buffer[] = [];
          let offset = 0;
          let i = 0;
          // Bounded: every step consumes at least one byte of the stream.
          while (offset < stream.length) {
            const size = cuts[i++ % cuts.length] ?? 1;
            reader.push(stream.subarray(offset, offset + size));
            offset += size;
            got.push(...drain(reader));
          }
          expect(got).toEqual(bodies.map((b) => Buffer.from(b)));
          expect(reader.buffered).toBe(0);
        },
      ),
      fcParams(200),
    );
  });

  it('throws on an oversized announcement before buffering any of the body', () => {
    const reader = new FrameReader(1000);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(1001, 0);
    reader.push(prefix.subarray(0, 2));
    expect(reader.next()).toBeNull();
    reader.push(prefix.subarray(2));
    expect(() => reader.next()).toThrow(FrameTooLargeError);
  });

  it('applies a changed limit to the next frame only', () => {
    const reader = new FrameReader(4);
    reader.push(Buffer.concat([frame(Buffer.from('abcd')), frame(Buffer.alloc(100, 1))]));
    expect(reader.next()?.toString()).toBe('abcd');
    reader.setFrameBytesMax(100);
    expect(reader.next()?.length).toBe(100);
  });
});

describe('SendQueue', () => {
  const pair = (bytes: number): Buffer => Buffer.alloc(bytes, 7);

  it('refuses pushes that would cross the byte or message bound', () => {
    const q = new SendQueue(100, 3, 1000);
    expect(q.tryPush(pair(60))).toBe(true);
    expect(q.tryPush(pair(41))).toBe(false); // 101 bytes
    expect(q.tryPush(pair(40))).toBe(true);
    expect(q.tryPush(pair(0))).toBe(true);
    expect(q.tryPush(pair(0))).toBe(false); // 4 messages
    expect({ bytes: q.bytes, messages: q.messages }).toEqual({ bytes: 100, messages: 3 });
  });

  it('seals one frame per turn, splitting only at the frame target, in order', () => {
    const q = new SendQueue(10_000, 100, 1000);
    const pairs = [...Array(10).keys()].map((g) => encodePair(g, { pad: 'x'.repeat(180) }));
    for (const p of pairs) q.tryPush(p);
    q.seal();
    const frames: Buffer[] = [];
    // Bounded: each shift removes one of at most 10 frames.
    while (q.hasFrames) frames.push(q.shiftFrame().frame);
    expect(frames.length).toBeGreaterThan(1);
    const groups: number[] = [];
    for (const f of frames) {
      expect(f.readUInt32BE(0)).toBe(f.length - 4);
      expect(f.length - 4).toBeLessThanOrEqual(1000);
      const parsed = parseDataFrame(f.subarray(4));
      if (typeof parsed === 'string') throw new Error(parsed);
      groups.push(...parsed.groupIds);
    }
    expect(groups).toEqual([...Array(10).keys()]);
    expect({ bytes: q.bytes, messages: q.messages }).toEqual({ bytes: 0, messages: 0 });
  });

  it('gives a pair larger than the frame target a frame of its own', () => {
    const q = new SendQueue(10_000, 100, 1000);
    for (const [g, size] of [[1, 300], [2, 1500], [3, 300], [4, 300]] as const) q.tryPush(encodePair(g, { pad: 'x'.repeat(size) }));
    q.seal();
    const groups: number[][] = [];
    // Bounded: at most 4 frames.
    while (q.hasFrames) {
      const parsed = parseDataFrame(q.shiftFrame().frame.subarray(4));
      if (typeof parsed === 'string') throw new Error(parsed);
      groups.push(parsed.groupIds);
    }
    expect(groups).toEqual([[1], [2], [3, 4]]);
  });

  it('builds frames that plain msgpack decodes as [groupId, message] pairs, for every array-header size', () => {
    // 3 pairs: fixarray header; 20: array16; 65,536: array32.
    for (const count of [3, 20, 65_536]) {
      const q = new SendQueue(1 << 24, 100_000, 1 << 24);
      for (let i = 0; i < count; i++) q.tryPush(encodePair(i, { i }));
      q.seal();
      const f = q.shiftFrame().frame;
      expect(q.hasFrames).toBe(false);
      // Compared as JSON: a deep toEqual of 65,536 pairs takes seconds.
      expect(JSON.stringify(decodeValue(f.subarray(4)))).toBe(JSON.stringify([...Array(count).keys()].map((i) => [i, { i }])));
    }
  });
});

describe('reconnectDelayMs', () => {
  it('stays in the doubling band [min·2^k, min·2^(k+1)] clamped to [min, max]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 100 }), fc.integer(), (min, extra, attempt, seed) => {
        const max = min + extra;
        const d = reconnectDelayMs(attempt, min, max, createSeededPrng(seed));
        const ceiling = Math.min(max, min * 2 ** Math.min(attempt + 1, 31));
        expect(d).toBeGreaterThanOrEqual(Math.max(min, Math.floor(ceiling / 2)));
        expect(d).toBeLessThanOrEqual(ceiling);
      }),
      fcParams(500),
    );
  });

  it('is deterministic for a seed and jittered across seeds', () => {
    const run = (seed: number): number[] => {
      const prng = createSeededPrng(seed);
      return [...Array(10).keys()].map((k) => reconnectDelayMs(k, 50, 5000, prng));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    expect(run(1)[0]).toBeGreaterThanOrEqual(50);
    expect(run(1)[9]).toBeGreaterThanOrEqual(2500);
  });
});

describe('handshakeMac', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  const na = Buffer.alloc(32, 1);
  const nb = Buffer.alloc(32, 2);

  it('matches the documented construction (independent test-side code)', () => {
    expect(handshakeMac(secret, 'dialer', 'a', 'b', na, nb)).toEqual(specMac(secret.toString(), 'dialer', 'a', 'b', na, nb));
  });

  it('binds role, direction, ids and nonces, so no proof can be reflected or reused', () => {
    const mac = handshakeMac(secret, 'dialer', 'a', 'b', na, nb);
    const variants = [
      handshakeMac(secret, 'acceptor', 'a', 'b', na, nb), // same fields, other role
      handshakeMac(secret, 'dialer', 'b', 'a', na, nb), // ids swapped (reflection)
      handshakeMac(secret, 'dialer', 'a', 'b', nb, na), // nonces swapped
      handshakeMac(secret, 'dialer', 'a', 'b', na, Buffer.alloc(32, 3)), // another challenge
      handshakeMac(secret, 'dialer', 'ab', '', na, nb), // field boundaries moved
      handshakeMac(Buffer.from('another-secret-of-some-length!!'), 'dialer', 'a', 'b', na, nb),
    ];
    for (const v of variants) expect(macMatches(v, mac)).toBe(false);
    expect(macMatches(mac.subarray(0, 31), mac)).toBe(false);
    expect(macMatches(Buffer.from(mac), mac)).toBe(true);
  });
});

describe('resolveTransportOptions', () => {
  const base: TransportOptions = {
    nodeId: 'n1',
    listenHost: '127.0.0.1',
    listenPort: 0,
    peers: { n2: '127.0.0.1:7002', n3: '[::1]:7003' },
    clusterSecret: '0123456789abcdef',
  };
  const resolve = (extra: Record<string, unknown>): unknown => resolveTransportOptions({ ...base, ...extra } as TransportOptions);

  it('fills defaults and freezes the result', () => {
    const o = resolveTransportOptions(base);
    expect(o.frameBytesMax).toBe(TRANSPORT_OPTION_DEFAULTS.frameBytesMax);
    expect(o.sendQueueBytesMax).toBe(2 * o.frameBytesMax);
    expect(o.peers.get('n3')).toEqual({ host: '::1', port: 7003 });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects unknown options, with a hint for likely names', () => {
    expect(() => resolve({ maxFrameSize: 10 })).toThrow("unknown option 'maxFrameSize'; did you mean 'frameBytesMax'?");
    expect(() => resolve({ colour: 1 })).toThrow(/unknown option 'colour'; known options are nodeId/);
  });

  it('names the option and the value on bad values', () => {
    expect(() => resolve({ frameBytesMax: 100 })).toThrow("'frameBytesMax' must be in [4096, 268435456] (got 100)");
    expect(() => resolve({ frameBytesMax: 1.5 })).toThrow(TypeError);
    expect(() => resolve({ frameBytesMax: 1 << 20, sendQueueBytesMax: 1000 })).toThrow("'sendQueueBytesMax' must be in [1048576,");
    expect(() => resolve({ reconnectDelayMsMin: 500, reconnectDelayMsMax: 100 })).toThrow(
      "'reconnectDelayMsMax' must be at least 'reconnectDelayMsMin' (got 100 and 500)",
    );
    expect(() => resolve({ listenPort: 70000 })).toThrow(RangeError);
    expect(() => resolve({ listenPort: undefined })).toThrow("'listenPort' is required");
    expect(() => resolve({ nodeId: '' })).toThrow("'nodeId' must be a non-empty string");
    expect(() => resolve({ peers: { n1: '127.0.0.1:1' } })).toThrow("must not contain this node's own id");
    expect(() => resolve({ peers: { n2: 'localhost' } })).toThrow(`'peers.n2' must be "host:port"`);
    expect(() => resolve({ handshakeTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => resolve({ keepaliveIntervalMs: 1000, idleTimeoutMs: 1500 })).toThrow(
      "'idleTimeoutMs' must be at least twice 'keepaliveIntervalMs' (got 1500 and 1000)",
    );
  });

  it('requires a 16-byte secret and never echoes it', () => {
    expect(() => resolve({ clusterSecret: 'short-secret' })).toThrow("at least 16 bytes (got 12 bytes)");
    try {
      resolve({ clusterSecret: 'short-secret' });
    } catch (err) {
      expect(String(err)).not.toContain('short-secret');
    }
    expect(() => resolve({ clusterSecret: 42 })).toThrow(TypeError);
    expect(resolveTransportOptions({ ...base, clusterSecret: new Uint8Array(16) }).clusterSecret.length).toBe(16);
  });
});

describe('parsePeerAddress', () => {
  it('accepts host:port and [v6]:port, rejects the rest', () => {
    expect(parsePeerAddress('node-2.cluster:7000', 'x')).toEqual({ host: 'node-2.cluster', port: 7000 });
    expect(parsePeerAddress('[fe80::1]:1', 'x')).toEqual({ host: 'fe80::1', port: 1 });
    for (const bad of ['', ':7000', 'host:', 'host:0', 'host:65536', 'host:7a', '::1:7000', 'a b:1', 7000, null]) {
      expect(() => parsePeerAddress(bad, 'addr')).toThrow(TypeError);
    }
  });
});

describe('LogLimiter', () => {
  it('lets linesMax lines through per window and reports how many it skipped', () => {
    const limiter = new LogLimiter(2, 1000);
    expect(limiter.take(0)).toEqual({ suppressed: 0 });
    expect(limiter.take(10)).toEqual({ suppressed: 0 });
    expect(limiter.take(20)).toBeNull();
    expect(limiter.take(999)).toBeNull();
    expect(limiter.take(1000)).toEqual({ suppressed: 2 });
    expect(limiter.take(1001)).toEqual({ suppressed: 0 });
  });
});
