// Proves Raft safety, lease and read invariants after every step, and recovery after healing, over 2,000 seeded 3-node fault schedules of 2,000 steps.
import { describe } from 'vitest';
import { DEFAULT_STEPS } from '../../chaos/sim/run.js';
import { simulateSeedRange } from './sim-suite.js';

describe('deterministic simulation, 3 nodes', () => {
  simulateSeedRange({ nodeCount: 3, steps: DEFAULT_STEPS, from: 0, to: 2000, chunkSize: 100 });
});
