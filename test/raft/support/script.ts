/**
 * A tiny interpreter for scripted Raft scenarios with golden output (etcd-raft's
 * datadriven style). A script is a sequence of blocks:
 *
 *     command arg arg key=value
 *     ----
 *     expected output
 *
 * separated by blank lines; `#` lines are comments. `runScript` executes the commands
 * against a `TestNet` and returns the script text with every output block regenerated,
 * so a test compares it with the file and `UPDATE_GOLDEN=1` rewrites the file.
 */
import { MemoryStorage, toLogIndex, toNodeId, toTerm } from '../../../raft/index.js';
import type { ConfChange, Entry, Message, NodeId } from '../../../raft/index.js';
import type { NodeOptions } from './net.js';
import { TestNet, bytes, fmtEntry, fmtMessage } from './net.js';

interface Block {
  readonly comments: string[];
  readonly command: string;
}

/** Parses a script into command blocks (expected outputs are ignored: they are regenerated). */
export function parseScript(source: string): Block[] {
  const blocks: Block[] = [];
  const lines = source.split('\n');
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.startsWith('#') || line.trim() === '') {
      if (line.startsWith('#')) comments.push(line);
      i++;
      continue;
    }
    blocks.push({ comments, command: line.trim() });
    comments = [];
    i++;
    if (lines[i] === '----') {
      i++;
      // Output runs to the next blank line.
      while (i < lines.length && (lines[i] as string).trim() !== '') i++;
    }
  }
  return blocks;
}

function parseOptions(args: readonly string[]): { positional: string[]; options: Record<string, string> } {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) options[a.slice(0, eq)] = a.slice(eq + 1);
    else positional.push(a);
  }
  return { positional, options };
}

function nodeOptions(options: Record<string, string>): NodeOptions {
  const out: Record<string, number | boolean> = {};
  for (const [k, v] of Object.entries(options)) {
    out[k] = v === 'true' ? true : v === 'false' ? false : Number(v);
  }
  return out as NodeOptions;
}

function entryList(entries: readonly Entry[]): string {
  return entries.map(fmtEntry).join(', ');
}

/** Runs `source` and returns it with regenerated outputs. */
export function runScript(source: string): string {
  const interp = new Interpreter();
  const out: string[] = [];
  for (const block of parseScript(source)) {
    for (const c of block.comments) out.push(c);
    const result = interp.exec(block.command);
    out.push(block.command, '----', ...(result.length === 0 ? ['ok'] : result), '');
  }
  return out.join('\n');
}

class Interpreter {
  private net: TestNet | null = null;
  private lines: string[] = [];
  private readonly times = new Map<string, number>();

  private get n(): TestNet {
    if (this.net === null) throw new Error('script: no cluster yet (use bootstrap)');
    return this.net;
  }

  exec(command: string): string[] {
    this.lines = [];
    const [name, ...rest] = command.split(/\s+/);
    const { positional: p, options: o } = parseOptions(rest);
    const all = (): string[] => (p.length > 0 ? p : [...this.n.members.keys()]);
    switch (name) {
      case 'bootstrap':
        this.times.clear();
        this.net = TestNet.bootstrap(p, { nodeOptions: nodeOptions(o), trace: (l) => this.lines.push(l) });
        break;
      case 'add-node':
        this.n.add(arg(p, 0), new MemoryStorage(), nodeOptions(o));
        break;
      case 'set-log':
        this.setLog(arg(p, 0), o);
        break;
      case 'campaign':
        this.n.node(arg(p, 0)).campaign();
        break;
      case 'tick': {
        // tick [ids] n=K ms=M stabilize=true: K rounds; each advances the listed nodes'
        // clocks by M ms, ticks them once, and (with stabilize) runs the network to quiet.
        const count = Number(o['n'] ?? '1');
        const stepMs = Number(o['ms'] ?? '0');
        for (let i = 0; i < count; i++) {
          for (const id of all()) {
            if (stepMs > 0 && !this.n.get(id).paused) this.setTime(id, (this.times.get(id) ?? 0) + stepMs);
            this.n.tick(id);
          }
          if (o['stabilize'] === 'true') this.n.stabilize();
        }
        break;
      }
      case 'stabilize':
        this.n.stabilize();
        break;
      case 'process':
        for (const id of all()) this.n.processReady(id);
        break;
      case 'deliver':
        this.n.deliver(this.filter(p, o));
        break;
      case 'drop': {
        const f = this.filter(p, o);
        const kept: Message[] = [];
        for (const m of this.n.inflight) {
          if (f(m)) this.lines.push(`dropped ${fmtMessage(m)}`);
          else kept.push(m);
        }
        this.n.inflight = kept;
        break;
      }
      case 'inflight':
        for (const m of this.n.inflight) this.lines.push(fmtMessage(m));
        break;
      case 'propose':
        this.lines.push(JSON.stringify(this.n.node(arg(p, 0)).propose(bytes(arg(p, 1)))));
        break;
      case 'conf': {
        const change = { type: arg(p, 1), nodeId: toNodeId(arg(p, 2)) } as ConfChange;
        this.lines.push(JSON.stringify(this.n.node(arg(p, 0)).proposeConfChange(change)));
        break;
      }
      case 'transfer':
        this.lines.push(JSON.stringify(this.n.node(arg(p, 0)).transferLeadership(toNodeId(arg(p, 1)))));
        break;
      case 'read-index':
        this.lines.push(JSON.stringify(this.n.node(arg(p, 0)).readIndex(arg(p, 1))));
        break;
      case 'reads':
        for (const id of all()) {
          const m = this.n.get(id);
          this.lines.push(`${id}: ${m.readStates.map((r) => `${r.ctx}@${r.index}`).join(' ')}`);
          m.readStates = [];
        }
        break;
      case 'partition':
        this.n.partition(...rest.join(' ').split('|').map((g) => g.trim().split(/\s+/)));
        break;
      case 'isolate':
        this.n.isolate(arg(p, 0));
        break;
      case 'cut':
        this.n.cut(arg(p, 0), arg(p, 1));
        break;
      case 'heal':
        this.n.heal();
        break;
      case 'crash':
        this.n.crash(arg(p, 0));
        break;
      case 'restart':
        this.n.restart(arg(p, 0), nodeOptions(o));
        this.times.delete(arg(p, 0));
        break;
      case 'pause':
        this.n.get(arg(p, 0)).paused = true;
        break;
      case 'resume':
        this.n.get(arg(p, 0)).paused = false;
        break;
      case 'status':
        for (const id of all()) this.lines.push(this.status(id));
        break;
      case 'log':
        for (const id of all()) this.lines.push(this.logOf(id));
        break;
      case 'applied':
        for (const id of all()) this.lines.push(`${id}: ${this.n.get(id).applied.join(' ')}`);
        break;
      case 'progress':
        for (const [id, pr] of this.n.node(arg(p, 0)).status().progress) {
          this.lines.push(`${id}: ${pr.state} match=${pr.match} next=${pr.next} inflight=${pr.inflightMessages}${pr.isLearner ? ' learner' : ''}`);
        }
        break;
      case 'set-time':
        for (const id of p.slice(1).length > 0 ? p.slice(1) : [...this.n.members.keys()]) this.setTime(id, Number(arg(p, 0)));
        break;
      case 'time':
        for (const id of all()) this.lines.push(`${id}: ${this.times.get(id) ?? 0}ms`);
        break;
      case 'lease': {
        const now = Number(arg(p, 1));
        const node = this.n.node(arg(p, 0));
        this.lines.push(`${arg(p, 0)}: lease ${node.leaseValid(now) ? 'valid' : 'none'} remaining=${node.leaseRemainingMs(now)}ms`);
        break;
      }
      case 'snapshot': {
        const m = this.n.get(arg(p, 0));
        const st = m.node.status();
        const meta = m.storage.createSnapshot(st.applied, st.confStateApplied, bytes(m.applied.join('\n')));
        this.lines.push(`${arg(p, 0)}: snapshot ${meta.index}/${meta.term} voters=${meta.confState.voters.join(',')} learners=${meta.confState.learners.join(',')}`);
        if (o['compact'] !== undefined) m.storage.compact(toLogIndex(Number(o['compact'])));
        break;
      }
      default:
        throw new Error(`script: unknown command '${String(name)}'`);
    }
    return this.lines;
  }

  private setTime(id: string, ms: number): void {
    this.times.set(id, ms);
    this.n.node(id).setTimeMs(ms);
  }

  private filter(p: readonly string[], o: Readonly<Record<string, string>>): (m: Message) => boolean {
    const links = p.filter((x) => x.includes('->'));
    const type = o['type'];
    return (m) =>
      (links.length === 0 || links.some((l) => {
        const [from, to] = l.split('->');
        return (from === '*' || from === m.from) && (to === '*' || to === m.to);
      })) && (type === undefined || type === m.type);
  }

  /** Replaces `id`'s storage with a log of the given terms (index 1 is the bootstrap entry) and restarts it. */
  private setLog(id: string, o: Readonly<Record<string, string>>): void {
    const old = this.n.get(id);
    const terms = (o['terms'] ?? '1').split(',').map(Number);
    const conf = old.node.status().confState;
    const fresh = MemoryStorage.bootstrap(conf);
    const entries: Entry[] = [];
    terms.forEach((t, k) => {
      if (k === 0) return; // index 1: the bootstrap entry (term 1)
      entries.push({ term: toTerm(t), index: toLogIndex(k + 1), type: 'normal', data: bytes(`e${k + 1}.${t}`) });
    });
    fresh.append(entries);
    const vote = o['vote'];
    fresh.setHardState({
      term: toTerm(Number(o['term'] ?? String(Math.max(...terms)))),
      vote: vote === undefined ? null : (vote as NodeId),
      commit: toLogIndex(Number(o['commit'] ?? '1')),
    });
    old.storage = fresh;
    this.n.restart(id);
  }

  private status(id: string): string {
    const m = this.n.get(id);
    if (m.down) return `${id}: down`;
    const s = m.node.status();
    const conf = `voters=${s.confState.voters.join(',')}${s.confState.learners.length > 0 ? ` learners=${s.confState.learners.join(',')}` : ''}`;
    return `${id}: ${s.role} term=${s.term} vote=${s.vote ?? '-'} lead=${s.leader ?? '-'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} ${conf}${m.paused ? ' paused' : ''}`;
  }

  private logOf(id: string): string {
    const m = this.n.get(id);
    const first = m.storage.firstIndex();
    const last = m.storage.lastIndex();
    const entries = last >= first ? m.storage.entries(first, toLogIndex(last + 1), Number.MAX_SAFE_INTEGER) : [];
    const snap = m.storage.snapshot();
    return `${id}:${snap.index > 0 ? ` [snap ${snap.index}/${snap.term}]` : ''} ${entryList(entries)}`;
  }
}

function arg(p: readonly string[], i: number): string {
  const v = p[i];
  if (v === undefined) throw new Error(`script: missing argument ${i + 1}`);
  return v;
}
