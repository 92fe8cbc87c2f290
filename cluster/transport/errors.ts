/**
 * Typed errors of the peer transport. Operating conditions use the project's
 * `RateLimiterError` with a code from docs/errors.md; the class adds typed fields.
 */
import { RateLimiterError } from '../../src/protocol/errors.js';

/**
 * Thrown by `PeerTransport.send` when one encoded message cannot fit a frame. The message
 * is not queued or sent. Code `RL_ERR_BAD_REQUEST` ("oversized ... frame"), not retryable:
 * the same message is just as large next time; the caller must split it (e.g. smaller
 * append batches or snapshot chunks).
 * @example
 * ```ts
 * try { transport.send('n2', 7, hugeMessage); }
 * catch (err) { if (err instanceof TransportMessageTooLargeError) shrinkBatches(err.messageBytes); }
 * ```
 */
export class TransportMessageTooLargeError extends RateLimiterError {
  readonly peerId: string;
  readonly groupId: number;
  /** Encoded size of the `[groupId, message]` pair. */
  readonly messageBytes: number;
  /** Largest encoded pair a frame can hold: `frameBytesMax` minus the 5-byte array header. */
  readonly messageBytesMax: number;

  constructor(peerId: string, groupId: number, messageBytes: number, messageBytesMax: number) {
    super(
      'RL_ERR_BAD_REQUEST',
      `Cannot send to peer ${JSON.stringify(peerId)} for group ${groupId}: the encoded message is ${messageBytes} bytes, above the ${messageBytesMax} a frame can hold ('frameBytesMax' minus 5)`,
      { details: { peerId, groupId, messageBytes, messageBytesMax } },
    );
    this.name = 'TransportMessageTooLargeError';
    this.peerId = peerId;
    this.groupId = groupId;
    this.messageBytes = messageBytes;
    this.messageBytesMax = messageBytesMax;
  }
}
