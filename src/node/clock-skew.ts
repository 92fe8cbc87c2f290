/**
 * Observed wall-clock offset to each peer (ARCHITECTURE.md, "Time"): a ping carries the
 * sender's wall and monotonic time; the pong carries the peer's wall time; the offset is
 * the peer's wall time minus ours at the middle of the round trip (NTP's estimate, off by
 * at most half the round trip). A node whose clock disagrees with every peer by more than
 * `maxClockSkewMs` must not lead: a leader stamps group time, and a skew of s admits up to
 * s × rate early after a failover.
 */
import type { HostTransport } from '../../cluster/host/types.js';

/** The transport channel of clock probes: just below the forward channel. */
export const CLOCK_CHANNEL = 0xffff_fffe;

type Probe =
  | { readonly t: 'ping'; readonly mono: number; readonly wall: number }
  | { readonly t: 'pong'; readonly mono: number; readonly wall: number; readonly peerWall: number };

export class ClockSkewMonitor {
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly transport: HostTransport,
    private readonly clock: { wallNowMs(): number; monoNowMs(): number },
  ) {}

  /** Sends one ping to every peer in `peers`. */
  probe(peers: readonly string[]): void {
    const ping: Probe = { t: 'ping', mono: this.clock.monoNowMs(), wall: this.clock.wallNowMs() };
    for (const p of peers) this.transport.send(p, CLOCK_CHANNEL, ping);
  }

  /** Handles a frame of the clock channel. */
  receive(from: string, raw: unknown): void {
    const m = raw as Probe;
    if (typeof m !== 'object' || m === null || typeof m.mono !== 'number' || typeof m.wall !== 'number') return;
    if (m.t === 'ping') {
      this.transport.send(from, CLOCK_CHANNEL, { t: 'pong', mono: m.mono, wall: m.wall, peerWall: this.clock.wallNowMs() });
    } else if (m.t === 'pong' && typeof m.peerWall === 'number') {
      const rttMs = this.clock.monoNowMs() - m.mono;
      if (rttMs < 0 || rttMs > 10_000) return; // not a reply to a live probe of ours
      this.offsets.set(from, m.peerWall - (m.wall + rttMs / 2));
    }
  }

  /** Peer wall clock minus ours, in ms, as last measured; undefined before the first pong. */
  offsetMs(peer: string): number | undefined {
    return this.offsets.get(peer);
  }

  /** Every measured offset. */
  all(): ReadonlyMap<string, number> {
    return this.offsets;
  }

  /**
   * True when this node's clock is off from every measured peer by more than `maxMs`:
   * it is the odd one out (one skewed peer alone does not make this node skewed).
   */
  selfSkewed(maxMs: number): boolean {
    if (this.offsets.size === 0) return false;
    for (const o of this.offsets.values()) if (Math.abs(o) <= maxMs) return false;
    return true;
  }
}
