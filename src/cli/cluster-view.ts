/**
 * `/v1/cluster` as rlctl reads it: the fields it relies on, checked, so a node of another
 * version gives a clear error instead of a crash.
 */
import type { MoveView } from '../node/placement/controller.js';
import { CliError, EXIT_FAILURE } from './cli-error.js';

export interface GroupRow {
  readonly id: number;
  readonly replicas: readonly string[];
  readonly leader: string | null;
  readonly role: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
}

export interface MetaRow {
  readonly leader: string | null;
  readonly role: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

export interface ClusterView {
  readonly node: string;
  readonly configVersion: number;
  readonly slotMapVersion: number;
  readonly members: readonly { id: string; apiAddress: string | null }[];
  readonly meta: MetaRow | null;
  readonly groups: readonly GroupRow[];
  /** Moves in progress (absent from nodes of older versions: none). */
  readonly moves: readonly MoveView[];
  /** The group split in progress, or null (absent from nodes of older versions: none). */
  readonly split: { readonly id: number; readonly source: number; readonly target: number; readonly slots: number; readonly phase: string } | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function parseClusterView(body: unknown, from: string): ClusterView {
  const o = body as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || typeof o['node'] !== 'string' || !Array.isArray(o['groups'])) {
    throw new CliError(EXIT_FAILURE, `${from} answered /v1/cluster with something rlctl does not understand`, { code: 'RLCTL_BAD_ANSWER' });
  }
  const groups = (o['groups'] as unknown[]).map((g): GroupRow => {
    const r = g as Record<string, unknown>;
    return {
      id: num(r['id']) ?? -1,
      replicas: strs(r['replicas']),
      leader: strOrNull(r['leader']),
      role: strOrNull(r['role']),
      term: num(r['term']),
      commitIndex: num(r['commitIndex']),
      appliedIndex: num(r['appliedIndex']),
    };
  });
  const m = o['meta'] as Record<string, unknown> | undefined;
  const meta: MetaRow | null =
    typeof m === 'object' && m !== null
      ? {
          leader: strOrNull(m['leader']),
          role: strOrNull(m['role']),
          term: num(m['term']),
          commitIndex: num(m['commitIndex']),
          appliedIndex: num(m['appliedIndex']),
          voters: strs(m['voters']),
          learners: strs(m['learners']),
        }
      : null;
  const members = Array.isArray(o['members'])
    ? (o['members'] as unknown[]).map((x) => {
        const r = x as Record<string, unknown>;
        return { id: String(r['id']), apiAddress: strOrNull(r['apiAddress']) };
      })
    : strs(o['nodes']).map((id) => ({ id, apiAddress: null }));
  const moves = Array.isArray(o['moves'])
    ? (o['moves'] as unknown[]).map((x): MoveView => {
        const r = x as Record<string, unknown>;
        return { groupId: num(r['groupId']) ?? -1, voters: strs(r['voters']), learners: strs(r['learners']), target: strs(r['target']), adding: strs(r['adding']), removing: strs(r['removing']) };
      })
    : [];
  const sp = o['split'] as Record<string, unknown> | null | undefined;
  const split =
    typeof sp === 'object' && sp !== null
      ? { id: num(sp['id']) ?? 0, source: num(sp['source']) ?? 0, target: num(sp['target']) ?? 0, slots: Array.isArray(sp['slots']) ? sp['slots'].length : 0, phase: String(sp['phase']) }
      : null;
  return { node: o['node'], configVersion: num(o['configVersion']) ?? 0, slotMapVersion: num(o['slotMapVersion']) ?? 0, members, meta, groups, moves, split };
}
