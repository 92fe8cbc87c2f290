/**
 * Toxics of the built-in Toxiproxy-compatible server: their JSON shape (as Toxiproxy's
 * HTTP API and `toxiproxy-node-client` see it) and validation. What each one does to a
 * stream is in `link.ts`.
 */

export type ToxicType = 'latency' | 'bandwidth' | 'timeout' | 'reset_peer' | 'slow_close' | 'limit_data' | 'slicer';
export type ToxicStream = 'upstream' | 'downstream';

export interface Toxic {
  readonly name: string;
  readonly type: ToxicType;
  /** upstream: client → server (the dialer's bytes); downstream: server → client. */
  readonly stream: ToxicStream;
  /** Share of connections the toxic applies to, 0..1 (decided once per connection). */
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, number>>;
}

/** Attributes each type takes, with Toxiproxy's defaults (all numbers). */
const ATTRIBUTES: Readonly<Record<ToxicType, Readonly<Record<string, number>>>> = {
  latency: { latency: 0, jitter: 0 },
  bandwidth: { rate: 0 },
  timeout: { timeout: 0 },
  reset_peer: { timeout: 0 },
  slow_close: { delay: 0 },
  limit_data: { bytes: 0 },
  slicer: { average_size: 0, size_variation: 0, delay: 0 },
};

/** Bounds: far beyond what a chaos scenario uses; a bigger value is a mistake. */
const ATTRIBUTE_MAX = 3_600_000_000;

export function isToxicType(v: unknown): v is ToxicType {
  return typeof v === 'string' && Object.hasOwn(ATTRIBUTES, v);
}

/**
 * Builds a toxic from a create (or update, with `base`) body; returns an error message
 * instead when the body is invalid.
 */
export function parseToxic(body: unknown, base: Toxic | null): Toxic | string {
  if (typeof body !== 'object' || body === null) return 'toxic body must be a JSON object';
  const b = body as Record<string, unknown>;
  const type = b['type'] ?? base?.type;
  if (!isToxicType(type)) return `toxic type must be one of ${Object.keys(ATTRIBUTES).join(', ')} (got ${JSON.stringify(type)})`;
  if (base !== null && type !== base.type) return `toxic type cannot change (got ${JSON.stringify(type)}, was ${base.type})`;
  const stream = b['stream'] ?? base?.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') return `toxic stream must be upstream or downstream (got ${JSON.stringify(stream)})`;
  const name = b['name'] ?? base?.name ?? `${type}_${stream}`;
  if (typeof name !== 'string' || name === '' || name.length > 200) return `toxic name must be a non-empty string (got ${JSON.stringify(name)})`;
  const toxicity = b['toxicity'] ?? base?.toxicity ?? 1;
  if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1)) return `toxicity must be a number from 0 to 1 (got ${JSON.stringify(toxicity)})`;
  const given = b['attributes'] ?? {};
  if (typeof given !== 'object' || given === null) return 'toxic attributes must be an object';
  const attributes: Record<string, number> = { ...(ATTRIBUTES[type] as Record<string, number>), ...(base?.attributes ?? {}) };
  for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
    if (!Object.hasOwn(attributes, k)) return `${type} toxic has no attribute ${JSON.stringify(k)} (it takes ${Object.keys(ATTRIBUTES[type]).join(', ')})`;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > ATTRIBUTE_MAX) return `${type}.${k} must be a number from 0 to ${ATTRIBUTE_MAX} (got ${JSON.stringify(v)})`;
    attributes[k] = v;
  }
  return { name, type, stream, toxicity, attributes };
}

/** The JSON of a toxic as the API returns it. */
export function toxicJson(t: Toxic): Record<string, unknown> {
  return { name: t.name, type: t.type, stream: t.stream, toxicity: t.toxicity, attributes: { ...t.attributes } };
}
