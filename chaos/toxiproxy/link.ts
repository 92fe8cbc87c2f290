/**
 * One proxied TCP connection: bytes from the client go upstream to the server and back
 * downstream, each direction through the toxics of its stream, read live (a toxic added,
 * changed or removed applies to open connections at once, as in Toxiproxy).
 *
 * Each direction is a bounded queue drained by one async pump: the source socket is
 * paused while the queue holds more than `QUEUE_BYTES_MAX`, and the pump waits for the
 * destination's 'drain', so memory stays bounded whatever the toxics do.
 */
import type { Socket } from 'node:net';
import type { Toxic, ToxicStream } from './toxics.js';

/** Bytes queued per direction before the source is paused: a few frames of the peer transport. */
const QUEUE_BYTES_MAX = 1 << 20;
/** While a timeout toxic holds data, how often the pump looks whether it was removed. */
const HOLD_POLL_MS = 10;

interface Chunk {
  readonly data: Buffer;
  readonly arrivedMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Link {
  private closed = false;
  /** Toxicity rolls, once per toxic name and connection. */
  private readonly applies = new Map<string, boolean>();
  private readonly startedMs = Date.now();

  constructor(
    private readonly client: Socket,
    private readonly server: Socket,
    private readonly toxics: (stream: ToxicStream) => readonly Toxic[],
    private readonly onClose: (link: Link) => void,
  ) {
    for (const s of [client, server]) {
      s.setNoDelay(true);
      s.on('error', () => this.close(false));
      s.on('close', () => this.close(false));
    }
    void this.pump(client, server, 'upstream');
    void this.pump(server, client, 'downstream');
    this.watchResets();
  }

  /** Closes both sides; `reset` sends a TCP RST instead of a FIN. */
  close(reset: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.client, this.server]) {
      if (reset && !s.destroyed) s.resetAndDestroy();
      else s.destroy();
    }
    this.onClose(this);
  }

  private active(stream: ToxicStream): Toxic[] {
    return this.toxics(stream).filter((t) => {
      const key = `${t.name}/${t.toxicity}`;
      let on = this.applies.get(key);
      if (on === undefined) {
        on = t.toxicity >= 1 || Math.random() < t.toxicity;
        this.applies.set(key, on);
      }
      return on;
    });
  }

  /** reset_peer: the connection is reset `timeout` ms after it opened (or at once when already older). */
  private watchResets(): void {
    const timer = setInterval(() => {
      if (this.closed) return clearInterval(timer);
      for (const stream of ['upstream', 'downstream'] as const) {
        for (const t of this.active(stream)) {
          if (t.type === 'reset_peer' && Date.now() - this.startedMs >= (t.attributes['timeout'] ?? 0)) {
            clearInterval(timer);
            this.close(true);
            return;
          }
        }
      }
    }, HOLD_POLL_MS);
    timer.unref();
  }

  private async pump(from: Socket, to: Socket, stream: ToxicStream): Promise<void> {
    const queue: Chunk[] = [];
    let queuedBytes = 0;
    let ended = false;
    let wake: (() => void) | null = null;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    from.on('data', (data: Buffer) => {
      queue.push({ data, arrivedMs: Date.now() });
      queuedBytes += data.length;
      if (queuedBytes > QUEUE_BYTES_MAX) from.pause();
      notify();
    });
    from.on('end', () => {
      ended = true;
      notify();
    });
    from.on('close', notify);
    let sentBytes = 0;
    while (!this.closed) {
      const chunk = queue.shift();
      if (chunk === undefined) {
        if (ended) {
          await this.slowClose(stream);
          if (!this.closed) to.end();
          return;
        }
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      queuedBytes -= chunk.data.length;
      if (queuedBytes <= QUEUE_BYTES_MAX && from.isPaused()) from.resume();
      const data = chunk.data;
      // timeout: nothing passes while it is present; after `timeout` ms (when > 0) the connection closes.
      const holdStartMs = Date.now();
      for (;;) {
        const t = this.active(stream).find((x) => x.type === 'timeout');
        if (t === undefined || this.closed) break;
        const limitMs = t.attributes['timeout'] ?? 0;
        if (limitMs > 0 && Date.now() - holdStartMs >= limitMs) return this.close(false);
        await sleep(HOLD_POLL_MS);
      }
      for (const t of this.active(stream)) {
        if (t.type === 'latency') {
          const jitter = t.attributes['jitter'] ?? 0;
          const delayMs = (t.attributes['latency'] ?? 0) + (jitter > 0 ? Math.random() * 2 * jitter - jitter : 0);
          const waitMs = chunk.arrivedMs + delayMs - Date.now();
          if (waitMs > 0) await sleep(waitMs);
        } else if (t.type === 'bandwidth') {
          const rate = t.attributes['rate'] ?? 0; // KB/s, as Toxiproxy: bytes / rate = ms
          if (rate > 0) await sleep(data.length / rate);
        } else if (t.type === 'limit_data') {
          const max = t.attributes['bytes'] ?? 0;
          if (max > 0 && sentBytes + data.length >= max) {
            const rest = data.subarray(0, Math.max(0, max - sentBytes));
            if (rest.length > 0 && !this.closed) to.write(rest);
            return this.close(false);
          }
        }
      }
      if (this.closed) return;
      const slicer = this.active(stream).find((x) => x.type === 'slicer');
      if (slicer !== undefined && (slicer.attributes['average_size'] ?? 0) > 0) {
        const avg = slicer.attributes['average_size'] ?? 1;
        const variation = Math.min(slicer.attributes['size_variation'] ?? 0, avg - 1);
        const delayMs = (slicer.attributes['delay'] ?? 0) / 1000; // microseconds in the API
        let off = 0;
        for (let pieces = 0; off < data.length && pieces < data.length && !this.closed; pieces++) {
          const size = Math.max(1, Math.round(avg + (Math.random() * 2 - 1) * variation));
          await this.write(to, data.subarray(off, off + size));
          off += size;
          if (delayMs > 0) await sleep(delayMs);
        }
        sentBytes += data.length;
        continue;
      }
      sentBytes += data.length;
      await this.write(to, data);
    }
  }

  private async slowClose(stream: ToxicStream): Promise<void> {
    const t = this.active(stream).find((x) => x.type === 'slow_close');
    if (t !== undefined) await sleep(t.attributes['delay'] ?? 0);
  }

  private async write(to: Socket, data: Buffer): Promise<void> {
    if (this.closed || to.destroyed) return;
    if (!to.write(data)) {
      await new Promise<void>((r) => {
        const done = (): void => {
          to.off('drain', done);
          to.off('close', done);
          r();
        };
        to.once('drain', done);
        to.once('close', done);
      });
    }
  }
}
