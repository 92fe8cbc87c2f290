/**
 * The live dashboard's script: plain modern JavaScript, served as-is by every node (no
 * build step). It subscribes to this node's `/v1/stats/stream` (falling back to polling
 * `/v1/stats`), polls `/v1/stats` of every other node whose API address the stats name,
 * and renders rates, latency, the node × group map and alarms. The shape it reads is
 * documented in docs/stats.md. Every collection it keeps is bounded (SERIES_S seconds of
 * history, one entry per node).
 *
 * @typedef {{ allowedPerSec: number, deniedPerSec: number, errorsPerSec: number,
 *   latency: { p50Ms: number|null, p99Ms: number|null, maxMs: number|null, samples: number } }} Checks
 * @typedef {{ atMs: number, allowed: number, denied: number, errors: number, p50Ms: number|null, p99Ms: number|null }} Second
 * @typedef {{ name: string, allowedPerSec: number, deniedPerSec: number }} Resource
 * @typedef {{ id: string, self: boolean, api: string|null, link: string }} NodeRef
 * @typedef {{ id: number, replicas: string[], hosted: boolean, role: string|null, leader: string|null,
 *   term: number|null, commitIndex: number|null, appliedIndex: number|null, applyLag: number|null,
 *   replicationLag: Record<string, number>|null }} Group
 * @typedef {{ code: string, groupId: number, message: string }} Alarm
 * @typedef {{ schema: number, node: string, atMs: number, uptimeMs: number, configVersion: number,
 *   slotMapVersion: number, windowS: number, checks: Checks, seconds: Second[], resources: Resource[],
 *   topDenied: Resource[], nodes: NodeRef[], groups: Group[], alarms: Alarm[] }} NodeStats
 */

/** Seconds of history the charts show. */
const SERIES_S = 60;
/** A node whose stats are older than this is shown as not reporting. */
const STALE_MS = 5000;
/** Lag (entries) shown as high. */
const LAG_HIGH = 1000;
const POLL_MS = 1000;

/** @type {Map<string, { stats: NodeStats, receivedMs: number }>} latest stats per node */
const latest = new Map();
/** @type {Map<string, Map<number, Second>>} per node: second (wall ms) → counts, at most SERIES_S + 15 each */
const history = new Map();
/** @type {string|null} */
let selfId = null;
let lastSelfMs = 0;
/** @type {Map<string, number>} peers being polled → timer id */
const peerPolls = new Map();

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node|string)[]} [children] */
function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** @param {string} tag @param {Record<string, string|number>} attrs */
function svgEl(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** @param {number|null|undefined} n */
function fmtRate(n) {
  if (n === null || n === undefined) return '–';
  if (n < 10) return n.toFixed(1);
  return Math.round(n).toLocaleString('en-US');
}

/** @param {number|null|undefined} ms */
function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Stores one node's stats and its seconds. @param {NodeStats} s */
function accept(s) {
  if (typeof s !== 'object' || s === null || s.schema !== 1 || typeof s.node !== 'string') return;
  latest.set(s.node, { stats: s, receivedMs: Date.now() });
  let h = history.get(s.node);
  if (h === undefined) history.set(s.node, (h = new Map()));
  for (const sec of s.seconds) h.set(Math.round(sec.atMs / 1000) * 1000, sec);
  const oldest = Date.now() - (SERIES_S + 15) * 1000;
  for (const k of h.keys()) if (k < oldest) h.delete(k);
  if (s.node === selfId) {
    lastSelfMs = Date.now();
    for (const n of s.nodes) if (!n.self && n.api !== null) watchPeer(n.id, n.api);
  }
}

/** Polls another node's /v1/stats once per second (cross-origin; the node allows any origin). */
function watchPeer(/** @type {string} */ id, /** @type {string} */ api) {
  if (peerPolls.has(id) || peerPolls.size >= 64) return;
  const poll = async () => {
    try {
      const r = await fetch(`${location.protocol}//${api}/v1/stats`, { signal: AbortSignal.timeout(900), cache: 'no-store' });
      if (r.ok) accept(await r.json());
    } catch {
      // The node is down or unreachable: its stats go stale and the page says so.
    }
  };
  peerPolls.set(id, window.setInterval(poll, POLL_MS));
  void poll();
}

/** Subscribes to this node's stream; on failure polls /v1/stats and retries the stream later. */
function connect() {
  const conn = $('conn');
  let pollTimer = 0;
  let retryMs = 1000;
  const poll = async () => {
    try {
      const r = await fetch('/v1/stats', { signal: AbortSignal.timeout(900), cache: 'no-store' });
      if (r.ok) {
        const s = await r.json();
        selfId ??= s.node;
        accept(s);
      }
    } catch {
      // Shown by the stale indicator.
    }
  };
  const open = () => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/stats/stream`);
    ws.onopen = () => {
      retryMs = 1000;
      window.clearInterval(pollTimer);
      pollTimer = 0;
    };
    ws.onmessage = (ev) => {
      try {
        const s = JSON.parse(String(ev.data));
        selfId ??= s.node;
        accept(s);
        render();
      } catch {
        // A malformed push is ignored; the next one replaces it.
      }
    };
    ws.onclose = () => {
      conn.className = 'conn conn-wait';
      conn.textContent = 'polling';
      if (pollTimer === 0) pollTimer = window.setInterval(() => void poll().then(render), POLL_MS);
      window.setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    };
  };
  open();
}

/**
 * Per-second totals over every node, oldest first, SERIES_S seconds ending at the newest
 * second every fresh node has reported (so the last point is never a partial sum).
 * @param {NodeStats[]} fresh
 */
function series(fresh) {
  let newest = Number.POSITIVE_INFINITY;
  for (const s of fresh) {
    let last = 0;
    for (const k of history.get(s.node)?.keys() ?? []) last = Math.max(last, k);
    if (last > 0) newest = Math.min(newest, last);
  }
  if (!Number.isFinite(newest)) newest = 0;
  /** @type {{ t: number, allowed: number, denied: number, errors: number, p50: number|null, p99: number|null }[]} */
  const out = [];
  if (newest === 0) return out;
  for (let t = newest - (SERIES_S - 1) * 1000; t <= newest; t += 1000) {
    let allowed = 0;
    let denied = 0;
    let errors = 0;
    let p50 = null;
    let p99 = null;
    let any = false;
    for (const h of history.values()) {
      const s = h.get(t);
      if (s === undefined) continue;
      any = true;
      allowed += s.allowed;
      denied += s.denied;
      errors += s.errors;
      if (s.p50Ms !== null) p50 = Math.max(p50 ?? 0, s.p50Ms);
      if (s.p99Ms !== null) p99 = Math.max(p99 ?? 0, s.p99Ms);
    }
    out.push(any ? { t, allowed, denied, errors, p50, p99 } : { t, allowed: NaN, denied: NaN, errors: NaN, p50: null, p99: null });
  }
  return out;
}

/** A round grid for an axis topping `v`: 1 to 4 steps of 1, 2, 2.5 or 5 × 10^k. @param {number} v */
function niceAxis(v) {
  if (!(v > 0)) return { max: 1, steps: 4 };
  const raw = v / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  let step = 10 * p;
  for (const m of [1, 2, 2.5, 5]) {
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  }
  const steps = Math.max(1, Math.min(4, Math.ceil(v / step - 1e-9)));
  return { max: steps * step, steps };
}

/**
 * Draws lines on an SVG sized to its box: 4 grid lines with labels, time along x.
 * @param {string} id @param {{ t: number }[]} points
 * @param {{ key: string, cls: string, area?: boolean }[]} lines @param {(v: number) => string} label
 */
function drawChart(id, points, lines, label) {
  const svg = $(id);
  const w = Math.max(200, svg.clientWidth);
  const h = Math.max(100, svg.clientHeight);
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.replaceChildren();
  const left = 44;
  const bottom = h - 18;
  const top = 6;
  const right = w - 6;
  let max = 0;
  for (const p of points) for (const l of lines) {
    const v = /** @type {Record<string, number|null>} */ (p)[l.key];
    if (typeof v === 'number' && Number.isFinite(v)) max = Math.max(max, v);
  }
  const grid = niceAxis(max);
  max = grid.max;
  for (let i = 0; i <= grid.steps; i++) {
    const y = bottom - ((bottom - top) * i) / grid.steps;
    svg.append(svgEl('line', { x1: left, x2: right, y1: y, y2: y, class: 'grid-line' }));
    const t = svgEl('text', { x: left - 6, y: y + 3, 'text-anchor': 'end', class: 'axis' });
    t.textContent = label((max * i) / grid.steps);
    svg.append(t);
  }
  for (const [frac, text] of [[0, `-${SERIES_S}s`], [0.5, `-${SERIES_S / 2}s`], [1, 'now']]) {
    const t = svgEl('text', { x: left + (right - left) * Number(frac), y: h - 4, 'text-anchor': frac === 0 ? 'start' : frac === 1 ? 'end' : 'middle', class: 'axis' });
    t.textContent = String(text);
    svg.append(t);
  }
  if (points.length === 0) {
    const t = svgEl('text', { x: (left + right) / 2, y: (top + bottom) / 2, 'text-anchor': 'middle', class: 'empty' });
    t.textContent = 'waiting for data';
    svg.append(t);
    return;
  }
  const x = (/** @type {number} */ i) => left + ((right - left) * i) / Math.max(1, SERIES_S - 1);
  const y = (/** @type {number} */ v) => bottom - ((bottom - top) * v) / max;
  for (const l of lines) {
    /** @type {string[]} */
    const segs = [];
    let pen = 'M';
    points.forEach((p, i) => {
      const v = /** @type {Record<string, number|null>} */ (p)[l.key];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        pen = 'M';
        return;
      }
      segs.push(`${pen}${x(i + SERIES_S - points.length).toFixed(1)},${y(v).toFixed(1)}`);
      pen = 'L';
    });
    if (segs.length === 0) continue;
    if (l.area === true && segs.length > 1) {
      const d = `${segs.join(' ')} L${segs.at(-1)?.slice(1).split(',')[0]},${bottom} L${segs[0]?.slice(1).split(',')[0]},${bottom} Z`;
      svg.append(svgEl('path', { d, class: `area-${l.key}` }));
    }
    svg.append(svgEl('path', { d: segs.join(' '), class: `line s-${l.cls}` }));
  }
}

/** Stats from nodes heard from recently and not seen down by this node, self first. */
function freshStats() {
  const now = Date.now();
  const self = latest.get(selfId ?? '')?.stats;
  const down = new Set((self?.nodes ?? []).filter((n) => n.link === 'down').map((n) => n.id));
  /** @type {NodeStats[]} */
  const out = [];
  for (const [id, v] of latest) {
    if (now - v.receivedMs > STALE_MS || down.has(id)) continue;
    if (id === selfId) out.unshift(v.stats);
    else out.push(v.stats);
  }
  return out;
}

function renderKpis(/** @type {NodeStats[]} */ fresh) {
  let allowed = 0;
  let denied = 0;
  let errors = 0;
  let p50 = null;
  let p99 = null;
  let window = 0;
  for (const s of fresh) {
    allowed += s.checks.allowedPerSec;
    denied += s.checks.deniedPerSec;
    errors += s.checks.errorsPerSec;
    if (s.checks.latency.p50Ms !== null) p50 = Math.max(p50 ?? 0, s.checks.latency.p50Ms);
    if (s.checks.latency.p99Ms !== null) p99 = Math.max(p99 ?? 0, s.checks.latency.p99Ms);
    window = Math.max(window, s.windowS);
  }
  const set = (/** @type {string} */ id, /** @type {number|null} */ v, /** @type {string} */ text) => {
    const e = $(id);
    e.textContent = text;
    e.dataset['value'] = v === null ? '' : String(v);
  };
  const any = fresh.length > 0;
  set('kpi-allowed', any ? allowed : null, any ? fmtRate(allowed) : '–');
  set('kpi-denied', any ? denied : null, any ? fmtRate(denied) : '–');
  set('kpi-errors', any ? errors : null, any ? fmtRate(errors) : '–');
  set('kpi-p50', p50, fmtMs(p50));
  set('kpi-p99', p99, fmtMs(p99));
  $('kpi-window').textContent = any ? `last ${window} s` : '–';
}

function renderAlarms(/** @type {NodeStats[]} */ fresh) {
  /** @type {Map<number, { alarm: Alarm, by: string[] }>} */
  const noLeader = new Map();
  for (const s of fresh) {
    for (const a of s.alarms) {
      if (a.code !== 'GROUP_NO_LEADER') continue;
      const e = noLeader.get(a.groupId) ?? { alarm: a, by: [] };
      e.by.push(s.node);
      noLeader.set(a.groupId, e);
    }
  }
  const box = $('alarms');
  box.replaceChildren();
  if (noLeader.size > 0) {
    // One banner for all of them: with many groups down together, one line reads faster than many.
    const groups = [...noLeader].sort((a, b) => a[0] - b[0]);
    const reporters = [...new Set(groups.flatMap(([, v]) => v.by))].sort();
    const items = groups.map(([gid, { alarm }]) => el('span', { class: 'alarm-item', 'data-group': String(gid), title: alarm.message }, [gid === 0 ? '0 (meta)' : String(gid)]));
    const list = items.flatMap((item, i) => (i === 0 ? [item] : [', ', item]));
    box.append(
      el('div', { class: 'alarm alarm-critical', role: 'alert', 'data-alarm': 'GROUP_NO_LEADER' }, [
        el('span', { class: 'tag' }, [el('span', {}, ['no leader'])]),
        el('span', {}, [
          `${groups.length === 1 ? 'Group' : 'Groups'} `,
          ...list,
          ` ${groups.length === 1 ? 'has' : 'have'} no leader: checks for ${groups.length === 1 ? 'its' : 'their'} keys fail until a quorum of replicas is back (reported by ${reporters.join(', ')}).`,
        ]),
      ]),
    );
  }
  const self = fresh.find((s) => s.node === selfId);
  for (const n of self?.nodes ?? []) {
    if (n.link !== 'down') continue;
    box.append(el('div', { class: 'alarm alarm-warning', 'data-alarm': 'NODE_DOWN', 'data-node': n.id }, [el('span', { class: 'tag' }, [el('span', {}, ['node down'])]), el('span', {}, [`Node ${n.id} is not connected to ${self?.node}.`])]));
  }
  if (fresh.length === 0 && latest.size > 0) {
    box.append(el('div', { class: 'alarm alarm-critical', 'data-alarm': 'NO_DATA' }, [el('span', { class: 'tag' }, [el('span', {}, ['no data'])]), el('span', {}, ['No node has reported for 5 s.'])]));
  }
}

function renderGroups(/** @type {NodeStats[]} */ fresh) {
  const self = latest.get(selfId ?? '')?.stats;
  const table = $('groups');
  if (self === undefined) return;
  const nodeIds = self.nodes.map((n) => n.id);
  const byNode = new Map(fresh.map((s) => [s.node, s]));
  const head = el('tr', {}, [el('th', {}, ['group']), el('th', {}, ['leader']), ...nodeIds.map((id) => {
    const link = self.nodes.find((n) => n.id === id)?.link;
    return el('th', link === 'down' ? { class: 'down' } : {}, [id + (link === 'down' ? ' (down)' : '')]);
  })]);
  const rows = [el('thead', {}, [head])];
  const body = el('tbody');
  for (const g of self.groups) {
    // Views of this group from every node that reports it; the highest term wins.
    const views = fresh.map((s) => ({ node: s.node, g: s.groups.find((x) => x.id === g.id) })).filter((v) => v.g !== undefined && v.g.hosted);
    const best = views.reduce((a, v) => ((v.g?.term ?? -1) > (a?.g?.term ?? -1) ? v : a), views[0]);
    // Flagged like the alarm banner: some reporting node sees no leader for it.
    const noLeader = views.some((v) => v.g?.leader === null);
    const leader = noLeader ? null : (best?.g?.leader ?? null);
    const leaderView = leader === null ? undefined : byNode.get(leader)?.groups.find((x) => x.id === g.id);
    const cells = nodeIds.map((id) => {
      if (!g.replicas.includes(id)) return el('td', { class: 'cell absent' }, ['—']);
      const v = byNode.get(id)?.groups.find((x) => x.id === g.id);
      const isLeader = id === leader;
      const parts = [];
      if (v !== undefined && v.hosted) {
        parts.push(`${isLeader ? '★ ' : ''}${v.role ?? '?'} · t${v.term} · ${v.appliedIndex}`);
        let lag = null;
        if (!isLeader && leaderView?.replicationLag != null) lag = leaderView.replicationLag[id] ?? null;
        else if (!isLeader && leaderView?.commitIndex != null && v.appliedIndex !== null) lag = Math.max(0, leaderView.commitIndex - v.appliedIndex);
        if (lag !== null) parts.push(el('span', lag >= LAG_HIGH ? { class: 'lag-high' } : {}, [` · lag ${lag}`]));
      } else {
        parts.push(isLeader ? '★ leader' : 'no report');
      }
      return el('td', { class: `cell${isLeader ? ' leader' : ''}`, 'data-node': id }, parts);
    });
    body.append(
      el('tr', { class: noLeader ? 'no-leader' : '', 'data-group': String(g.id), 'data-leader': leader ?? '' }, [
        el('td', { class: 'gid' }, [g.id === 0 ? '0 (meta)' : String(g.id)]),
        el('td', {}, [leader ?? (views.length === 0 ? 'unknown' : 'NONE')]),
        ...cells,
      ]),
    );
  }
  rows.push(body);
  table.replaceChildren(...rows);
}

function renderResources(/** @type {NodeStats[]} */ fresh) {
  /** @type {Map<string, { allowed: number, denied: number }>} */
  const sum = new Map();
  for (const s of fresh) {
    for (const r of s.resources) {
      const e = sum.get(r.name) ?? { allowed: 0, denied: 0 };
      e.allowed += r.allowedPerSec;
      e.denied += r.deniedPerSec;
      sum.set(r.name, e);
    }
  }
  const all = [...sum].map(([name, v]) => ({ name, ...v }));
  const top = all.filter((r) => r.denied > 0).sort((a, b) => b.denied - a.denied).slice(0, 5);
  const maxDenied = top[0]?.denied ?? 1;
  $('top-denied').replaceChildren(
    el('tr', {}, [el('th', {}, ['resource']), el('th', { class: 'num' }, ['denied / s']), el('th', {}, [''])]),
    ...(top.length === 0
      ? [el('tr', {}, [el('td', { colspan: '3', class: 'muted' }, ['no denials in the window'])])]
      : top.map((r) => {
          const bar = el('div', { class: 'barfill' });
          bar.style.width = `${Math.max(2, (100 * r.denied) / maxDenied).toFixed(0)}%`;
          return el('tr', { 'data-resource': r.name }, [el('td', {}, [r.name]), el('td', { class: 'num' }, [fmtRate(r.denied)]), el('td', { class: 'bar' }, [bar])]);
        })),
  );
  const active = all.filter((r) => r.allowed + r.denied > 0).sort((a, b) => b.allowed + b.denied - (a.allowed + a.denied));
  $('resources').replaceChildren(
    el('tr', {}, [el('th', {}, ['resource']), el('th', { class: 'num' }, ['allowed / s']), el('th', { class: 'num' }, ['denied / s'])]),
    ...(active.length === 0
      ? [el('tr', {}, [el('td', { colspan: '3', class: 'muted' }, ['no checks in the window'])])]
      : active.map((r) => el('tr', { 'data-resource': r.name }, [el('td', {}, [r.name]), el('td', { class: 'num' }, [fmtRate(r.allowed)]), el('td', { class: 'num' }, [fmtRate(r.denied)])]))),
  );
}

function render() {
  const fresh = freshStats();
  const self = latest.get(selfId ?? '')?.stats;
  if (self !== undefined) {
    $('node-id').textContent = self.node;
    const cv = $('config-version');
    cv.textContent = `v${self.configVersion}`;
    cv.dataset['value'] = String(self.configVersion);
    $('slotmap-version').textContent = `v${self.slotMapVersion}`;
    document.body.dataset['at'] = String(self.atMs);
  }
  $('nodes-reporting').textContent = self === undefined ? '–' : `${fresh.length} of ${self.nodes.length}`;
  const conn = $('conn');
  const live = Date.now() - lastSelfMs <= 3000;
  if (lastSelfMs > 0) {
    conn.className = `conn ${live ? 'conn-live' : 'conn-down'}`;
    conn.textContent = live ? 'live' : 'stale';
  }
  $('updated').textContent = self === undefined ? '' : `Last update ${new Date(self.atMs).toLocaleTimeString()}.`;
  renderAlarms(fresh);
  renderKpis(fresh);
  const pts = series(fresh);
  const axis = (/** @type {number} */ v) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1));
  drawChart('chart-checks', pts, [{ key: 'allowed', cls: 'allowed', area: true }, { key: 'denied', cls: 'denied' }], axis);
  drawChart('chart-denials', pts, [{ key: 'denied', cls: 'denied' }, { key: 'errors', cls: 'errors' }], axis);
  drawChart('chart-latency', pts, [{ key: 'p50', cls: 'p50' }, { key: 'p99', cls: 'p99' }], axis);
  renderGroups(fresh);
  renderResources(fresh);
}

connect();
// Renders between pushes too, so peers' polls and staleness show without waiting for self.
window.setInterval(render, POLL_MS);
window.addEventListener('resize', render);
