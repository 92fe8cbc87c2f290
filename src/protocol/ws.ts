/**
 * WebSocket frames of the client protocol (`/v1/ws`): binary msgpack, one frame carries
 * a batch of checks, each with a request id chosen by the client; the answer frame
 * carries one reply per id, in any order. Version 1:
 *
 *   request  = [1, [[id, check], ...]]           check: the same object as HTTP JSON
 *   request  = [1, [[id, check], ...], reports]  reports: caller reports (src/protocol/report.ts), optional
 *   reply    = [1, [[id, 0, output], [id, 1, error], ...]]
 *   error    = { code, message, leaderHint? }   leaderHint: a node address, on RL_ERR_NOT_LEADER
 *
 * An id is a non-negative safe integer, unique among the client's open requests on the
 * connection. The replies to one request frame may arrive split over several reply
 * frames (answers known at once first, answers waiting for replication later); match by
 * id. A frame that cannot be read at all is answered with id 0 and an error. A frame that
 * carries only reports (`[1, [], reports]`) gets no answer: reports are best effort, and
 * a node of an older version ignores the third element.
 */
import { Packr } from 'msgpackr';
import type { CheckOutput } from './check.js';
import type { ErrorCode } from './errors.js';
import { BATCH_CHECKS_MAX } from './limits.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { readReportSummaries, type ReportSummary } from './report.js';

export const WS_PROTOCOL_VERSION = 1;

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly leaderHint?: string;
}

export type WireReply =
  | { readonly id: number; readonly ok: true; readonly output: CheckOutput }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeRequestFrame(checks: readonly (readonly [number, unknown])[]): Uint8Array {
  return packr.pack([WS_PROTOCOL_VERSION, checks]);
}

/** A frame of caller reports only (no checks): the SDK sends one per flush. */
export function encodeReportFrame(reports: readonly ReportSummary[]): Uint8Array {
  return packr.pack([WS_PROTOCOL_VERSION, [], reports]);
}

/** The `reports` of a frame that carries none: one shared (read-only) array, not one per frame. */
const NO_REPORTS: readonly ReportSummary[] = [];

/**
 * Reads a request frame; on failure returns a message naming what is wrong. `reports` is
 * empty when the frame carries none.
 */
export function decodeRequestFrame(bytes: Uint8Array): { ok: true; checks: [number, unknown][]; reports: readonly ReportSummary[] } | { ok: false; message: string } {
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch {
    return { ok: false, message: 'frame is not valid msgpack' };
  }
  if (!Array.isArray(v) || v[0] !== WS_PROTOCOL_VERSION || !Array.isArray(v[1])) {
    return { ok: false, message: `frame must be [${WS_PROTOCOL_VERSION}, [[id, check], ...]]` };
  }
  const items = v[1] as unknown[];
  if (items.length > BATCH_CHECKS_MAX) return { ok: false, message: `frame has ${items.length} checks; the most is ${BATCH_CHECKS_MAX}` };
  for (const item of items) {
    if (!Array.isArray(item) || item.length !== 2 || !Number.isSafeInteger(item[0]) || (item[0] as number) < 0) {
      return { ok: false, message: 'each check must be [id, check] with a non-negative integer id' };
    }
  }
  // Each item is checked to be [id, check]: the decoded array serves as is (no copy per check).
  const checks = items as [number, unknown][];
  if (v[2] === undefined) return { ok: true, checks, reports: NO_REPORTS };
  const reports = readReportSummaries(v[2]);
  if (!reports.ok) return { ok: false, message: reports.message };
  return { ok: true, checks, reports: reports.value };
}

const replyWriter = new MsgpackWriter();

/** The reply frame, written field by field (same msgpack as a general encoder gives, at a fraction of the cost). */
export function encodeReplyFrame(replies: readonly WireReply[]): Uint8Array {
  const w = replyWriter;
  w.reset();
  w.array(2);
  w.num(WS_PROTOCOL_VERSION);
  w.array(replies.length);
  for (const r of replies) {
    w.array(3);
    w.num(r.id);
    if (r.ok) {
      w.num(0);
      writeOutput(w, r.output);
    } else {
      w.num(1);
      const e = r.error;
      w.map(e.leaderHint === undefined ? 2 : 3);
      w.str('code');
      w.str(e.code);
      w.str('message');
      w.str(e.message);
      if (e.leaderHint !== undefined) {
        w.str('leaderHint');
        w.str(e.leaderHint);
      }
    }
  }
  return w.finish();
}

function writeOutput(w: MsgpackWriter, o: CheckOutput): void {
  const shadow = o.shadowDenied === true;
  const lease = o.leaseId !== undefined;
  w.map(6 + (shadow ? 1 : 0) + (lease ? 1 : 0));
  w.str('allowed');
  w.bool(o.allowed);
  w.str('limit');
  w.num(o.limit);
  w.str('remaining');
  w.num(o.remaining);
  w.str('resetMs');
  w.num(o.resetMs);
  w.str('retryAfterMs');
  w.num(o.retryAfterMs);
  w.str('rule');
  w.str(o.rule);
  if (shadow) {
    w.str('shadowDenied');
    w.bool(true);
  }
  if (lease) {
    w.str('leaseId');
    w.str(o.leaseId as string);
  }
}

export function decodeReplyFrame(bytes: Uint8Array): WireReply[] {
  const v = packr.unpack(bytes) as unknown;
  if (!Array.isArray(v) || v[0] !== WS_PROTOCOL_VERSION || !Array.isArray(v[1])) throw new TypeError('not a version 1 reply frame');
  return (v[1] as unknown[]).map((item) => {
    const [id, kind, body] = item as [number, number, unknown];
    return kind === 0 ? { id, ok: true, output: body as CheckOutput } : { id, ok: false, error: body as WireError };
  });
}
