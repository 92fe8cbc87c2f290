/**
 * Membership reconciliation, pure: what the leader of a group does next to bring its Raft
 * membership to the target the cluster map holds. One single-server change at a time,
 * in the safe order of a replica move: add the new node as a learner → promote it once
 * it has caught up → only when every target voter votes, demote or remove the nodes that
 * leave (handing leadership away first when the leaving node is this leader).
 */

export interface ReconcileInput {
  /** This node (the group's leader). */
  readonly self: string;
  /** The group's membership in effect (latest appended). */
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  /** Target membership from the cluster map; disjoint. */
  readonly targetVoters: readonly string[];
  readonly targetLearners: readonly string[];
  /** Leader's view: how far each member's log matches, and the commit index. */
  readonly match: ReadonlyMap<string, number>;
  readonly commit: number;
  /** Peers this node is connected to now. */
  readonly reachable: ReadonlySet<string>;
}

export type ReconcileAction =
  | { readonly type: 'addLearner' | 'addVoter' | 'removeNode'; readonly nodeId: string }
  | { readonly type: 'transfer'; readonly to: string }
  | { readonly type: 'wait'; readonly why: string }
  | null;

/**
 * @example
 * ```ts
 * const a = reconcileMembership({ self: 'n1', voters: ['n1', 'n2', 'n3'], learners: [], targetVoters: ['n1', 'n2', 'n4'], targetLearners: [], match, commit, reachable });
 * // { type: 'addLearner', nodeId: 'n4' }
 * ```
 */
export function reconcileMembership(input: ReconcileInput): ReconcileAction {
  const { self, voters, learners, targetVoters, targetLearners, match, commit } = input;
  const members = new Set([...voters, ...learners]);
  const missing = [...targetVoters, ...targetLearners].find((id) => !members.has(id));
  if (missing !== undefined) return { type: 'addLearner', nodeId: missing };
  const toPromote = targetVoters.filter((id) => learners.includes(id));
  for (const id of toPromote) {
    // The core refuses a promotion before the learner holds the commit index; ask only then.
    if ((match.get(id) ?? 0) >= commit) return { type: 'addVoter', nodeId: id };
  }
  if (toPromote.length > 0) return { type: 'wait', why: `learner ${toPromote.join(', ')} is catching up` };
  // Every target voter votes now: the group keeps its fault tolerance while nodes leave.
  const targets = new Set([...targetVoters, ...targetLearners]);
  const leavingVoter = voters.find((id) => !targetVoters.includes(id));
  if (leavingVoter !== undefined) {
    if (leavingVoter === self) {
      const to = targetVoters
        .filter((id) => id !== self && voters.includes(id) && input.reachable.has(id))
        .sort((a, b) => (match.get(b) ?? 0) - (match.get(a) ?? 0))[0];
      return to === undefined ? { type: 'wait', why: 'no reachable target voter to hand leadership to' } : { type: 'transfer', to };
    }
    // A voter that stays as a learner is demoted (addLearner on a voter), else removed.
    return targets.has(leavingVoter) ? { type: 'addLearner', nodeId: leavingVoter } : { type: 'removeNode', nodeId: leavingVoter };
  }
  const leavingLearner = learners.find((id) => !targets.has(id));
  if (leavingLearner !== undefined) return { type: 'removeNode', nodeId: leavingLearner };
  return null;
}
