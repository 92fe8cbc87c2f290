/** Every real-process chaos scenario, in the order `npm run chaos` runs them. */
import type { Scenario } from './context.js';
import { connectionResets, flappingLink, isolatedLeader, latencyJitter, minorityPartition } from './network-faults.js';
import { netnsFaults } from './os-faults.js';
import { clockSkew, corruptedReplica, leaderKillLoop, leaderPause, rollingRestart, wholeClusterRestart } from './process-faults.js';
import { nodeJoinLeave } from './scale-faults.js';

export const SCENARIOS: readonly Scenario[] = [
  leaderKillLoop,
  minorityPartition,
  isolatedLeader,
  latencyJitter,
  connectionResets,
  leaderPause,
  clockSkew,
  rollingRestart,
  wholeClusterRestart,
  flappingLink,
  corruptedReplica,
  nodeJoinLeave,
  netnsFaults,
];

export type { Scenario } from './context.js';
