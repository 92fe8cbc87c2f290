/**
 * The bytes of meta-log entries and meta snapshots: msgpackr maps behind a format
 * version, validated field by field on decode. An entry that does not decode is a broken
 * invariant (the log is checksummed below us and only validated commands are proposed),
 * so decode throws with the offending field.
 */
import { Packr } from 'msgpackr';
import { readFactorCommand, readFactorRecords } from './factors-codec.js';
import type { ResourceFactor } from './factors.js';
import { CONFIG_TEXT_BYTES_MAX, MAP_NODES_MAX, type ClusterMap, type ConfigDocument, type GroupMembership, type GroupPlacement, type LeaderHint, type MetaCommand, type MetaNode, type SplitPlan } from './meta-types.js';

export const META_FORMAT_VERSION = 1;
/** Request ids are caller-made (node id + counter + random); 128 characters is plenty. */
const REQUEST_ID_CHARS_MAX = 128;
const SLOTS_MAX = 65_536;
const GROUPS_MAX = 65_536;

const packr = new Packr({ useRecords: false, moreTypes: false });

export class MetaCodecError extends Error {
  constructor(message: string) {
    super(`meta codec: ${message}`);
    this.name = 'MetaCodecError';
  }
}

export type Obj = Record<string, unknown>;

/** Field readers shared by the meta codecs (this one and factors-codec.ts): each throws MetaCodecError naming the field. */
export function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MetaCodecError(`${what} must be a map`);
  return v as Obj;
}

export function str(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) throw new MetaCodecError(`${what} must be a string of at most ${max} characters`);
  return v;
}

export function int(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new MetaCodecError(`${what} must be an integer >= ${min} (got ${String(v)})`);
  return v;
}

function list(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw new MetaCodecError(`${what} must be a list of at most ${max} items`);
  return v;
}

function format(v: unknown): 'yaml' | 'json' {
  if (v !== 'yaml' && v !== 'json') throw new MetaCodecError(`format must be yaml or json (got ${String(v)})`);
  return v;
}

function readNode(v: unknown, what: string): MetaNode {
  const o = obj(v, what);
  const api = o['apiAddress'];
  return {
    id: str(o['id'], `${what}.id`, 64),
    peerAddress: str(o['peerAddress'], `${what}.peerAddress`, 300),
    apiAddress: api === null || api === undefined ? null : str(api, `${what}.apiAddress`, 300),
    ...(o['draining'] === true ? { draining: true as const } : {}),
    ...(o['zone'] === undefined || o['zone'] === null ? {} : { zone: str(o['zone'], `${what}.zone`, 64) }),
  };
}

function readSplit(v: unknown): SplitPlan {
  const o = obj(v, 'map.split');
  const phase = o['phase'];
  if (phase !== 'seeding' && phase !== 'switched' && phase !== 'aborting') throw new MetaCodecError(`map.split.phase must be seeding, switched or aborting (got ${String(phase)})`);
  return {
    id: int(o['id'], 'map.split.id', 1),
    source: int(o['source'], 'map.split.source', 1),
    target: int(o['target'], 'map.split.target', 1),
    slots: list(o['slots'], 'map.split.slots', SLOTS_MAX).map((s, i) => int(s, `map.split.slots[${i}]`)),
    replicas: readIds(o['replicas'], 'map.split.replicas'),
    phase,
  };
}

function readMembership(v: unknown, what: string): GroupMembership {
  const o = obj(v, what);
  return {
    voters: readIds(o['voters'], `${what}.voters`),
    learners: readIds(o['learners'], `${what}.learners`),
    index: int(o['index'], `${what}.index`),
    term: int(o['term'], `${what}.term`),
  };
}

function readIds(v: unknown, what: string): string[] {
  return list(v, what, MAP_NODES_MAX).map((x, i) => str(x, `${what}[${i}]`, 64));
}

function readMapBody(v: unknown): Omit<ClusterMap, 'version'> {
  const o = obj(v, 'map');
  const groups: GroupPlacement[] = list(o['groups'], 'map.groups', GROUPS_MAX).map((g, i) => {
    const go = obj(g, `map.groups[${i}]`);
    const id = int(go['id'], `map.groups[${i}].id`, 1);
    const replicas = readIds(go['replicas'], `map.groups[${i}].replicas`);
    const current = go['current'];
    const lost = go['lost'];
    return {
      id,
      replicas,
      ...(current === undefined || current === null ? {} : { current: readMembership(current, `map.groups[${i}].current`) }),
      ...(lost === undefined || lost === null ? {} : { lost: readIds(lost, `map.groups[${i}].lost`) }),
    };
  });
  return {
    nodes: list(o['nodes'], 'map.nodes', MAP_NODES_MAX).map((n, i) => readNode(n, `map.nodes[${i}]`)),
    metaVoters: readIds(o['metaVoters'], 'map.metaVoters'),
    slotGroups: list(o['slotGroups'], 'map.slotGroups', SLOTS_MAX).map((g, i) => int(g, `map.slotGroups[${i}]`, 1)),
    groups,
    // Absent in maps written before group splits: version 1, no split.
    ...(o['slotMapVersion'] === undefined || o['slotMapVersion'] === null ? {} : { slotMapVersion: int(o['slotMapVersion'], 'map.slotMapVersion', 1) }),
    ...(o['split'] === undefined || o['split'] === null ? {} : { split: readSplit(o['split']) }),
    ...(o['groupIdMax'] === undefined || o['groupIdMax'] === null ? {} : { groupIdMax: int(o['groupIdMax'], 'map.groupIdMax', 1) }),
  };
}

function readMap(v: unknown): ClusterMap {
  return { version: int(obj(v, 'map')['version'], 'map.version', 1), ...readMapBody(v) };
}

function readHint(v: unknown, what: string): LeaderHint {
  const o = obj(v, what);
  return { leader: str(o['leader'], `${what}.leader`, 64), term: int(o['term'], `${what}.term`) };
}

function readConfig(v: unknown): ConfigDocument {
  const o = obj(v, 'config');
  return {
    version: int(o['version'], 'config.version', 1),
    format: format(o['format']),
    text: str(o['text'], 'config.text', CONFIG_TEXT_BYTES_MAX),
    index: int(o['index'], 'config.index', 1),
  };
}

export function encodeCommand(c: MetaCommand): Uint8Array {
  return packr.pack({ v: META_FORMAT_VERSION, c });
}

export function decodeCommand(bytes: Uint8Array): MetaCommand {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (err) {
    throw new MetaCodecError(`entry is not msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const top = obj(raw, 'entry');
  if (top['v'] !== META_FORMAT_VERSION) throw new MetaCodecError(`unknown format version ${String(top['v'])}`);
  const c = obj(top['c'], 'command');
  const requestId = str(c['requestId'], 'requestId', REQUEST_ID_CHARS_MAX);
  switch (c['t']) {
    case 'config': {
      const ifMatch = c['ifMatch'];
      return {
        t: 'config',
        requestId,
        format: format(c['format']),
        text: str(c['text'], 'text', CONFIG_TEXT_BYTES_MAX),
        ifMatch: ifMatch === null || ifMatch === undefined ? null : int(ifMatch, 'ifMatch'),
      };
    }
    case 'map':
      return { t: 'map', requestId, map: readMapBody(c['map']) };
    case 'node':
      return { t: 'node', requestId, node: readNode(c['node'], 'node') };
    case 'hint':
      return { t: 'hint', requestId, groupId: int(c['groupId'], 'groupId', 1), hint: readHint(c['hint'], 'hint') };
    case 'join':
      return { t: 'join', requestId, node: readNode(c['node'], 'node') };
    case 'drain':
      if (typeof c['draining'] !== 'boolean') throw new MetaCodecError('draining must be a boolean');
      return { t: 'drain', requestId, nodeId: str(c['nodeId'], 'nodeId', 64), draining: c['draining'] };
    case 'remove':
      return { t: 'remove', requestId, nodeId: str(c['nodeId'], 'nodeId', 64) };
    case 'place':
      return { t: 'place', requestId, groupId: int(c['groupId'], 'groupId', 1), replicas: readIds(c['replicas'], 'replicas'), ifMapVersion: int(c['ifMapVersion'], 'ifMapVersion') };
    case 'metaVoters':
      return { t: 'metaVoters', requestId, voters: readIds(c['voters'], 'voters'), ifMapVersion: int(c['ifMapVersion'], 'ifMapVersion') };
    case 'groupConf':
      return { t: 'groupConf', requestId, groupId: int(c['groupId'], 'groupId', 1), conf: readMembership(c['conf'], 'conf') };
    case 'replicaLost':
      if (typeof c['lost'] !== 'boolean') throw new MetaCodecError('lost must be a boolean');
      return { t: 'replicaLost', requestId, groupId: int(c['groupId'], 'groupId', 1), nodeId: str(c['nodeId'], 'nodeId', 64), lost: c['lost'] };
    case 'splitBegin':
      return { t: 'splitBegin', requestId, groupId: int(c['groupId'], 'groupId', 1), ifMapVersion: int(c['ifMapVersion'], 'ifMapVersion'), groupsMax: int(c['groupsMax'], 'groupsMax', 1) };
    case 'split': {
      const step = c['step'];
      if (step !== 'switch' && step !== 'abort' && step !== 'done') throw new MetaCodecError(`step must be switch, abort or done (got ${String(step)})`);
      return { t: 'split', requestId, splitId: int(c['splitId'], 'splitId', 1), step };
    }
    case 'factors':
    case 'freeze':
      return readFactorCommand(c['t'], c, requestId);
    default:
      throw new MetaCodecError(`unknown command ${String(c['t'])}`);
  }
}

export interface MetaSnapshot {
  readonly config: ConfigDocument | null;
  readonly map: ClusterMap | null;
  readonly hints: ReadonlyArray<readonly [number, LeaderHint]>;
  /** Adaptive factors by resource (factors.ts); absent in snapshots written before them. */
  readonly factors?: ReadonlyArray<readonly [string, ResourceFactor]>;
}

export function encodeSnapshot(s: MetaSnapshot): Uint8Array {
  return packr.pack({ v: META_FORMAT_VERSION, config: s.config, map: s.map, hints: s.hints, factors: s.factors ?? [] });
}

export function decodeSnapshot(bytes: Uint8Array): MetaSnapshot {
  const o = obj(packr.unpack(bytes), 'snapshot');
  if (o['v'] !== META_FORMAT_VERSION) throw new MetaCodecError(`unknown snapshot format version ${String(o['v'])}`);
  const hints = list(o['hints'], 'hints', GROUPS_MAX).map((h, i): [number, LeaderHint] => {
    const pair = list(h, `hints[${i}]`, 2);
    return [int(pair[0], `hints[${i}][0]`, 1), readHint(pair[1], `hints[${i}][1]`)];
  });
  return { config: o['config'] === null ? null : readConfig(o['config']), map: o['map'] === null ? null : readMap(o['map']), hints, factors: readFactorRecords(o['factors']) };
}

/** Length-prefixed (u32 BE) framing, so snapshot pieces of any size reassemble. */
export function frameChunk(chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + chunk.byteLength);
  new DataView(out.buffer).setUint32(0, chunk.byteLength);
  out.set(chunk, 4);
  return out;
}

/** Reads a framed snapshot whole (the meta state is small: one map and one document). */
export async function readFramedChunks(pieces: AsyncIterable<Uint8Array>, bytesMax: number): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const p of pieces) {
    size += p.byteLength;
    if (size > bytesMax) throw new MetaCodecError(`snapshot is over ${bytesMax} bytes`);
    parts.push(p);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  const chunks: Uint8Array[] = [];
  at = 0;
  while (at < all.byteLength) {
    if (all.byteLength - at < 4) throw new MetaCodecError('snapshot ends inside a frame header');
    const len = new DataView(all.buffer, at, 4).getUint32(0);
    if (all.byteLength - at - 4 < len) throw new MetaCodecError('snapshot ends inside a frame');
    chunks.push(all.slice(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return chunks;
}
