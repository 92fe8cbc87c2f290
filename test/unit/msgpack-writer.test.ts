// Proves the hand-written reply encoder speaks plain msgpack: for random replies (all
// integer ranges, floats, non-ASCII and long strings, errors with and without hints),
// a general msgpack decoder reads back exactly what a general encoder would have sent.
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MsgpackWriter } from '../../src/protocol/msgpack-writer.js';
import { decodeReplyFrame, encodeReplyFrame, type WireReply } from '../../src/protocol/ws.js';
import { fcParams } from '../support/fc-params.js';

const general = new Packr({ useRecords: false, moreTypes: false });

const numArb = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.maxSafeInteger(),
  fc.constantFrom(-1, 0, 127, 128, 255, 256, 65535, 65536, 2 ** 32, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
  // -0 is written as 0 (an integer format); no reply field distinguishes the two.
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v)),
);
const strArb = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 250, maxLength: 70_000 }));

const replyArb: fc.Arbitrary<WireReply> = fc.oneof(
  fc.record({
    id: fc.maxSafeNat(),
    ok: fc.constant(true as const),
    output: fc.record(
      { allowed: fc.boolean(), limit: numArb, remaining: numArb, resetMs: numArb, retryAfterMs: numArb, rule: strArb, shadowDenied: fc.constant(true as const), leaseId: strArb },
      { requiredKeys: ['allowed', 'limit', 'remaining', 'resetMs', 'retryAfterMs', 'rule'] },
    ),
  }),
  fc.record({
    id: fc.maxSafeNat(),
    ok: fc.constant(false as const),
    error: fc.record(
      { code: fc.constantFrom('RL_ERR_NOT_LEADER' as const, 'RL_ERR_BAD_REQUEST' as const), message: strArb, leaderHint: strArb },
      { requiredKeys: ['code', 'message'] },
    ),
  }),
);

describe('reply frames', () => {
  it('decode to what a general msgpack encoder would have sent', () => {
    fc.assert(
      fc.property(fc.array(replyArb, { maxLength: 40 }), (replies) => {
        const viaGeneral = general.unpack(general.pack([1, replies.map((r) => (r.ok ? [r.id, 0, r.output] : [r.id, 1, r.error]))]));
        expect(general.unpack(encodeReplyFrame(replies))).toEqual(viaGeneral);
        expect(decodeReplyFrame(encodeReplyFrame(replies))).toEqual(replies);
      }),
      fcParams(300),
    );
  });

  it('frames with more than 65,535 replies use the 32-bit array header', () => {
    const replies: WireReply[] = Array.from({ length: 70_000 }, (_, id) => ({ id, ok: true, output: { allowed: true, limit: 5, remaining: 4, resetMs: 1, retryAfterMs: 0, rule: 'defaults' } }));
    expect(decodeReplyFrame(encodeReplyFrame(replies))).toHaveLength(70_000);
  });

  it('writes -0 as the integer 0', () => {
    const w = new MsgpackWriter();
    w.num(-0);
    expect(Object.is(general.unpack(w.finish()), 0)).toBe(true);
  });

  it('writes nil and grows past its first buffer', () => {
    const w = new MsgpackWriter();
    w.array(2);
    w.nil();
    w.str('x'.repeat(100_000));
    expect(general.unpack(w.finish())).toEqual([null, 'x'.repeat(100_000)]);
  });
});
