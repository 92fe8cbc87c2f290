// Proves the same invariants over fewer but ten times longer schedules (20,000 steps), where histories of many terms, crashes and compactions pile up.
import { describe } from 'vitest';
import { simulateSeedRange } from './sim-suite.js';

describe('deterministic simulation, long schedules', () => {
  simulateSeedRange({ nodeCount: 3, steps: 20_000, from: 100_000, to: 100_080, chunkSize: 20 });
  simulateSeedRange({ nodeCount: 5, steps: 20_000, from: 100_000, to: 100_080, chunkSize: 20 });
});
