/**
 * Records a chaos run's history in memory (bounded) and as JSON lines on disk, one event a
 * line, so a failed run can be replayed through the checker offline.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { HistoryEvent, HistoryFault, HistoryOp } from './types.js';

/** Events kept per run: a 20-minute run at ~500 checks/s stays below it. */
export const HISTORY_EVENTS_MAX = 2_000_000;

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private nextId = 1;
  private phaseName = 'start';
  private readonly out: WriteStream | null;
  /** Events not kept because the bound was reached (the run reports it; checks would be incomplete). */
  dropped = 0;

  constructor(path: string | null, private readonly clock: { nowMs(): number } = { nowMs: () => Date.now() }) {
    this.out = path === null ? null : createWriteStream(path, { flags: 'w' });
  }

  get phase(): string {
    return this.phaseName;
  }

  nowMs(): number {
    return this.clock.nowMs();
  }

  private push(e: HistoryEvent): void {
    if (this.events.length >= HISTORY_EVENTS_MAX) {
      this.dropped++;
      return;
    }
    this.events.push(e);
    this.out?.write(`${JSON.stringify(e)}\n`);
  }

  startPhase(name: string): void {
    this.phaseName = name;
    const startMs = this.clock.nowMs();
    this.phaseStarts.set(name, startMs);
    this.push({ type: 'phase', name, startMs });
  }

  /** When phase `name` began (its latest start), or null when it never did. */
  phaseStartMs(name: string): number | null {
    return this.phaseStarts.get(name) ?? null;
  }

  private readonly phaseStarts = new Map<string, number>();

  fault(f: Omit<HistoryFault, 'type' | 'atMs' | 'phase'>): void {
    this.push({ type: 'fault', atMs: this.clock.nowMs(), phase: this.phaseName, ...f });
  }

  /** Records one completed check; `invokeMs` is when it was sent. */
  op(o: Omit<HistoryOp, 'type' | 'id' | 'phase' | 'completeMs'>): HistoryOp {
    const e: HistoryOp = { type: 'op', id: this.nextId++, phase: this.phaseName, completeMs: this.clock.nowMs(), ...o };
    this.push(e);
    return e;
  }

  ops(): HistoryOp[] {
    return this.events.filter((e): e is HistoryOp => e.type === 'op');
  }

  faults(): HistoryFault[] {
    return this.events.filter((e): e is HistoryFault => e.type === 'fault');
  }

  async close(): Promise<void> {
    const out = this.out;
    if (out !== null) await new Promise<void>((r) => out.end(() => r()));
  }
}

/** Parses a JSON-lines history file's text. */
export function parseHistory(text: string): HistoryEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HistoryEvent);
}
