/**
 * The authentication handshake: mutual HMAC-SHA256 challenge-response over the shared
 * cluster secret. Frames use the normal length prefix and carry msgpack maps.
 *
 *   dialer D                                   acceptor A
 *   hello     { t:'hello', v:1, from:D, to:A, nonce:Nd }  ──►
 *             ◄──  { t:'challenge', v:1, from:A, nonce:Na }
 *   proof     { t:'proof', mac: MAC('dialer',   D, A, Nd, Na) }  ──►   A verifies, then
 *             ◄──  { t:'proof', mac: MAC('acceptor', A, D, Na, Nd) }    A is open
 *   D verifies: open
 *
 * MAC(role, self, peer, ownNonce, peerNonce) = HMAC-SHA256(secret, label ‖ role ‖ self ‖
 * peer ‖ ownNonce ‖ peerNonce), each field length-prefixed so no two inputs collide.
 * Each side proves the secret over a nonce the other side chose (freshness, no replay);
 * the role and the ordered ids make a proof useless in the other direction or for another
 * pair (no reflection). The acceptor proves itself only after the dialer has, so an
 * unauthenticated client cannot use it as an oracle.
 *
 * Not in scope: confidentiality and integrity after the handshake. An on-path attacker
 * can relay a handshake and then inject; run the cluster network on a private link or
 * under TLS/WireGuard for that.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NODE_ID_LENGTH_MAX } from './peer-address.js';
import { isPlainObject } from './wire.js';

export const HANDSHAKE_VERSION = 1;

/** Nonce bytes: 32 bytes (256 bits) from the CSPRNG never repeat in practice. */
export const NONCE_BYTES = 32;

/** HMAC-SHA256 output bytes. */
export const MAC_BYTES = 32;

/**
 * Largest handshake frame body: the hello holds two node ids (each ≤ 256 UTF-16 units,
 * ≤ 768 UTF-8 bytes) and a 32-byte nonce plus short keys; 2 KiB leaves room and keeps
 * what an unauthenticated peer can make us buffer tiny.
 */
export const HANDSHAKE_FRAME_BYTES_MAX = 2048;

const MAC_LABEL = 'rl-transport-handshake-v1';

export type HandshakeRole = 'dialer' | 'acceptor';

export interface Hello {
  readonly t: 'hello';
  readonly v: number;
  readonly from: string;
  readonly to: string;
  readonly nonce: Uint8Array;
}

export interface Challenge {
  readonly t: 'challenge';
  readonly v: number;
  readonly from: string;
  readonly nonce: Uint8Array;
}

export interface Proof {
  readonly t: 'proof';
  readonly mac: Uint8Array;
}

/** A fresh nonce from the OS's CSPRNG (never from an injected, possibly seeded, PRNG). */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

function field(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const length = Buffer.allocUnsafe(2);
  length.writeUInt16BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

/**
 * The proof that `self` (acting as `role`) knows the secret, bound to both ids and nonces.
 * @example
 * ```ts
 * const mac = handshakeMac(secret, 'dialer', 'n1', 'n2', nonceN1, nonceN2);
 * ```
 */
export function handshakeMac(
  secret: Uint8Array,
  role: HandshakeRole,
  self: string,
  peer: string,
  ownNonce: Uint8Array,
  peerNonce: Uint8Array,
): Buffer {
  const hmac = createHmac('sha256', secret);
  for (const part of [MAC_LABEL, role, self, peer, ownNonce, peerNonce]) hmac.update(field(part));
  return hmac.digest();
}

/** Constant-time check of a received MAC against the expected one. */
export function macMatches(received: Uint8Array, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

function isNodeIdText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= NODE_ID_LENGTH_MAX;
}

function isBytes(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === length;
}

/** Checks a decoded handshake value; returns it typed, or a string saying what is wrong. */
export function parseHello(value: unknown): Hello | string {
  if (!isPlainObject(value) || value['t'] !== 'hello') return 'expected a hello';
  if (value['v'] !== HANDSHAKE_VERSION) return `unsupported handshake version ${String(value['v'])}`;
  const { from, to, nonce } = value;
  if (!isNodeIdText(from) || !isNodeIdText(to)) return 'hello has a bad node id';
  if (!isBytes(nonce, NONCE_BYTES)) return 'hello has a bad nonce';
  return { t: 'hello', v: HANDSHAKE_VERSION, from, to, nonce };
}

export function parseChallenge(value: unknown): Challenge | string {
  if (!isPlainObject(value) || value['t'] !== 'challenge') return 'expected a challenge';
  if (value['v'] !== HANDSHAKE_VERSION) return `unsupported handshake version ${String(value['v'])}`;
  const { from, nonce } = value;
  if (!isNodeIdText(from)) return 'challenge has a bad node id';
  if (!isBytes(nonce, NONCE_BYTES)) return 'challenge has a bad nonce';
  return { t: 'challenge', v: HANDSHAKE_VERSION, from, nonce };
}

export function parseProof(value: unknown): Proof | string {
  if (!isPlainObject(value) || value['t'] !== 'proof') return 'expected a proof';
  const { mac } = value;
  if (!isBytes(mac, MAC_BYTES)) return 'proof has a bad mac';
  return { t: 'proof', mac };
}
