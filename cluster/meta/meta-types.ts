/**
 * What the meta group (group 0) replicates: the cluster map (nodes and their addresses,
 * slot → group, group → replicas, leader hints) and the rate-limit configuration as an
 * opaque, versioned document. The host knows groups, never rate limits: the document is
 * text here; the node runtime validates and compiles it before proposing and after
 * applying.
 */

import type { FactorCommand } from './factors.js';

/** The group id reserved for the meta group; shard groups are numbered from 1. */
export const META_GROUP_ID = 0;

/** Voters of the meta group at most; every other node follows as a learner (ARCHITECTURE.md). */
export const META_VOTERS_MAX = 5;

/**
 * Largest configuration document the meta group accepts. A document with ten thousand
 * client overrides of ~100 bytes each is ~1 MB; 4 MiB leaves room while keeping one Raft
 * entry far below the transport's frame limit.
 */
export const CONFIG_TEXT_BYTES_MAX = 4 * 1024 * 1024;

/** Members in a cluster map at most: far above any cluster this code runs, a bound on what a frame may claim. */
export const MAP_NODES_MAX = 1024;

export type ConfigFormat = 'yaml' | 'json';

/** One applied configuration: the text as submitted, numbered by the meta group (1, 2, 3, …). */
export interface ConfigDocument {
  /** Assigned on apply: the previous version + 1 (the first document is version 1). */
  readonly version: number;
  readonly format: ConfigFormat;
  readonly text: string;
  /** Meta log index of the entry that made this version (for "applied here yet?" checks). */
  readonly index: number;
}

export interface MetaNode {
  readonly id: string;
  /** host:port of the node's peer listener. */
  readonly peerAddress: string;
  /** host:port of the node's client API, once the node has registered it. */
  readonly apiAddress: string | null;
  /** Set by `rlctl node drain`: the planner moves every replica and leader off this node. Absent: active. */
  readonly draining?: true;
  /** Failure-domain label (`--zone`): the planner spreads a group's replicas over distinct zones. Absent: none. */
  readonly zone?: string;
}

export interface GroupPlacement {
  readonly id: number;
  /**
   * Replica node ids the group should have (the planner's target); the first is the
   * preferred leader. The group's leader reconciles its Raft membership toward it one
   * single-server change at a time.
   */
  readonly replicas: readonly string[];
  /**
   * The group's applied Raft membership, as its leader last reported it. Absent: never
   * reported (a group still on its bootstrap membership, which equals `replicas`).
   * A group whose `current` differs from `replicas` has a move in progress.
   */
  readonly current?: GroupMembership;
  /**
   * Replicas whose data failed its checksums (set by the node that found it): the group's
   * leader removes each from the group; the node then wipes it and clears its mark, and
   * the leader adds it back as a learner, fills it by snapshot and promotes it once it
   * has caught up (src/node/placement/corrupt-replica.ts). Absent: none.
   */
  readonly lost?: readonly string[];
}

/** A Raft membership as reported by a group's leader, with the log index it was applied at. */
export interface GroupMembership {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly index: number;
  readonly term: number;
}

export interface ClusterMap {
  /** Bumped by every change of the map. */
  readonly version: number;
  readonly nodes: readonly MetaNode[];
  /** Voters of group 0; every other node is a learner of it. */
  readonly metaVoters: readonly string[];
  /** Shard group count; slot s lives in group `slotGroups[s]`. */
  readonly slotGroups: readonly number[];
  readonly groups: readonly GroupPlacement[];
  /** Bumped whenever `slotGroups` changes (a split switches slots to a new group). Absent: 1. */
  readonly slotMapVersion?: number;
  /** The group split in progress (one at a time). Absent: none. */
  readonly split?: SplitPlan;
  /**
   * The highest shard group id ever made (absent: the highest in `groups`). Ids are never
   * reused: a node that was down while a split was aborted may still hold that group's
   * records, which must never meet a new group of the same id.
   */
  readonly groupIdMax?: number;
}

/**
 * A group split (docs/scale.md, "Group split"): the source group's upper half of slots
 * moves to a new group. Phases, each driven by the leader named and each idempotent:
 *
 * - `seeding`: the new group exists (bootstrapped on the source's replicas); the source's
 *   leader fences the slots through the source's log (it stops admitting for them), and
 *   the new group's leader seeds the new group, through its own log, with the fenced
 *   slots' state read from a local source replica that applied the fence. Only in this
 *   phase can the split be aborted.
 * - `switched`: the slot map points the slots at the new group (the commit point); the
 *   source releases them (its state for them is dropped).
 * - `aborting`: the new group is gone from the map; the source unfences the slots.
 */
export interface SplitPlan {
  /** The meta log index that began the split: unique for ever, carried by its shard entries. */
  readonly id: number;
  readonly source: number;
  readonly target: number;
  /** The slots that move, ascending. */
  readonly slots: readonly number[];
  /** The new group's first voters (the source's replicas when the split began); each bootstraps it with them. */
  readonly replicas: readonly string[];
  readonly phase: SplitPhase;
}

export type SplitPhase = 'seeding' | 'switched' | 'aborting';

export interface LeaderHint {
  readonly leader: string;
  readonly term: number;
}

/** The commands of the meta log. Every one carries the proposer's request id, so it can learn the outcome. */
export type MetaCommand =
  | {
      readonly t: 'config';
      readonly requestId: string;
      readonly format: ConfigFormat;
      readonly text: string;
      /**
       * Apply only when the current version equals this (0: only when there is none yet,
       * which is how the `--config` file seeds a fresh cluster). Null: unconditionally.
       * Checked at apply, the linearization point, so of two writes with the same
       * `ifMatch` exactly one wins.
       */
      readonly ifMatch: number | null;
    }
  | {
      /** The first cluster map; ignored when a map exists. */
      readonly t: 'map';
      readonly requestId: string;
      readonly map: Omit<ClusterMap, 'version'>;
    }
  | { readonly t: 'node'; readonly requestId: string; readonly node: MetaNode }
  | { readonly t: 'hint'; readonly requestId: string; readonly groupId: number; readonly hint: LeaderHint }
  /** A node joins the cluster map (or, same id, updates its addresses); it follows group 0 as a learner. */
  | { readonly t: 'join'; readonly requestId: string; readonly node: MetaNode }
  /** Marks a node draining (or active again). */
  | { readonly t: 'drain'; readonly requestId: string; readonly nodeId: string; readonly draining: boolean }
  /** Removes a node from the map: applied only when it holds no replica and no meta vote. */
  | { readonly t: 'remove'; readonly requestId: string; readonly nodeId: string }
  /**
   * The planner's next step for one group: its target replicas. Applied only while the map
   * is still at `ifMapVersion` (the version the planner decided from), so two planners
   * (an old and a new meta leader) never interleave their moves.
   */
  | { readonly t: 'place'; readonly requestId: string; readonly groupId: number; readonly replicas: readonly string[]; readonly ifMapVersion: number }
  /** The target voters of group 0 (every other node follows it as a learner); same `ifMapVersion` rule. */
  | { readonly t: 'metaVoters'; readonly requestId: string; readonly voters: readonly string[]; readonly ifMapVersion: number }
  /** A group's leader reports the Raft membership it applied (ignored when older than the one recorded). */
  | { readonly t: 'groupConf'; readonly requestId: string; readonly groupId: number; readonly conf: GroupMembership }
  /**
   * A node marks (lost: true) its replica of a group as lost to corruption, or clears the
   * mark once it holds the wiped replica again (ignored when the node is not a replica).
   */
  | { readonly t: 'replicaLost'; readonly requestId: string; readonly groupId: number; readonly nodeId: string; readonly lost: boolean }
  /**
   * Begins splitting group `groupId` (see SplitPlan): applied only at `ifMapVersion`, with
   * no split or move in progress, the group holding two slots or more, and fewer than
   * `groupsMax` groups.
   */
  | { readonly t: 'splitBegin'; readonly requestId: string; readonly groupId: number; readonly ifMapVersion: number; readonly groupsMax: number }
  /** Moves split `splitId` on: `switch` and `abort` from `seeding`, `done` from `switched` or `aborting`. */
  | { readonly t: 'split'; readonly requestId: string; readonly splitId: number; readonly step: 'switch' | 'abort' | 'done' }
  /** Adaptive factors: the controller's `factors` and an operator's `freeze` (factors.ts). */
  | FactorCommand;

/** What applying a command did, as its proposer learns it. */
export type MetaOutcome =
  | { readonly status: 'applied'; readonly index: number; readonly configVersion: number; readonly mapVersion: number }
  | { readonly status: 'ignored'; readonly index: number; readonly configVersion: number; readonly mapVersion: number; readonly why: string }
  | { readonly status: 'conflict'; readonly index: number; readonly configVersion: number; readonly expected: number };
