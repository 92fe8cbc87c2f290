/**
 * A process that does nothing but wake every 2 ms, run beside a benchmark to measure the
 * machine rather than the system under test: how often, and for how long, an idle process
 * waits for a CPU while the load runs. Any latency below these stalls is out of reach on
 * the machine the figure was measured on, whatever the system does.
 *
 *   tsx test/bench/stall-probe.ts --seconds 10   # prints one JSON line last
 */
const args = process.argv.slice(2);
const i = args.indexOf('--seconds');
const seconds = Math.min(600, Math.max(1, i >= 0 ? Number(args[i + 1]) : 10));
const INTERVAL_MS = 2;
const STALL_MS = 6; // three intervals late: the process waited for a CPU, not for its timer

const stalls: number[] = [];
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  if (now - last > STALL_MS && stalls.length < 100_000) stalls.push(now - last);
  last = now;
}, INTERVAL_MS);
setTimeout(() => {
  clearInterval(timer);
  stalls.sort((a, b) => a - b);
  const total = stalls.reduce((a, b) => a + b, 0);
  const out = {
    seconds,
    stalls_over_6ms: stalls.length,
    stall_ms_total: +total.toFixed(1),
    stall_p50_ms: +(stalls[Math.floor(stalls.length / 2)] ?? 0).toFixed(1),
    stall_max_ms: +(stalls[stalls.length - 1] ?? 0).toFixed(1),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}, seconds * 1000);
