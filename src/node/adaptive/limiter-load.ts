/**
 * The limiter's own load on this node, as the adaptive controller reads it: the p99 of
 * event-loop delay and the CPU share of the process since the last sample. perf_hooks'
 * delay histogram samples every 20 ms at a cost of one timer; process.cpuUsage is a syscall
 * per sample (a few per second).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { LimiterLoad } from '../../adaptive/index.js';

/** Delay histogram resolution: 20 ms resolves the 100 ms lag the controller cares about, at one timer. */
const RESOLUTION_MS = 20;

export class LimiterLoadMonitor {
  private readonly histogram: IntervalHistogram;
  private lastCpuUs: number;
  private lastWallMs: number;

  constructor(private readonly nowMs: () => number = () => performance.now()) {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    const cpu = process.cpuUsage();
    this.lastCpuUs = cpu.user + cpu.system;
    this.lastWallMs = this.nowMs();
  }

  /** Load since the previous sample (or since construction), and a fresh window. */
  sample(): LimiterLoad {
    // The histogram counts the resolution timer's own period in every delay; subtract it.
    const p99Ns = this.histogram.count === 0 ? 0 : this.histogram.percentile(99);
    const lagP99Ms = Math.max(0, p99Ns / 1e6 - RESOLUTION_MS);
    this.histogram.reset();
    const cpu = process.cpuUsage();
    const cpuUs = cpu.user + cpu.system;
    const wallMs = this.nowMs();
    const share = wallMs > this.lastWallMs ? (cpuUs - this.lastCpuUs) / 1000 / (wallMs - this.lastWallMs) : 0;
    this.lastCpuUs = cpuUs;
    this.lastWallMs = wallMs;
    return { lagP99Ms: Math.round(lagP99Ms * 10) / 10, cpu: Math.round(Math.max(0, share) * 1000) / 1000 };
  }

  stop(): void {
    this.histogram.disable();
  }
}
