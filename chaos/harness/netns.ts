/**
 * OS-level faults (root only): each node in its own network namespace `rlc-<run>-<id>`,
 * joined to a bridge in the root namespace by a veth pair, so the chaos process (in the
 * root namespace) reaches every node and the nodes reach each other through the bridge.
 * Faults: a node's link taken down (partition from everyone), and `tc netem` delay / loss
 * on a node's interface. `available()` says why it cannot run (not root, no `ip`, no netns
 * support) so the scenario is skipped with that message.
 *
 * Addresses: 10.77.<subnet>.0/24, bridge .1, node i at .(10 + i). Names stay under the
 * 15-byte interface name limit.
 */
import { execFileSync } from 'node:child_process';

const IP = '/usr/sbin/ip';

function run(args: readonly string[]): void {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function tryRun(args: readonly string[]): void {
  try {
    run(args);
  } catch {
    // cleanup of something already gone
  }
}

export interface NetnsNode {
  readonly id: string;
  readonly ns: string;
  readonly hostVeth: string;
  readonly address: string;
}

export class NetnsNet {
  readonly nodes = new Map<string, NetnsNode>();
  private readonly bridge: string;
  private created = false;

  /** `tag`: a short unique tag (≤ 4 characters) for this run's names; `subnet`: 1..254. */
  constructor(
    private readonly tag: string,
    private readonly subnet: number,
  ) {
    if (!/^[a-z0-9]{1,4}$/.test(tag)) throw new RangeError(`NetnsNet tag must be 1-4 of [a-z0-9] (got ${JSON.stringify(tag)})`);
    if (!Number.isInteger(subnet) || subnet < 1 || subnet > 254) throw new RangeError(`NetnsNet subnet must be 1..254 (got ${subnet})`);
    this.bridge = `rlc${tag}br`;
  }

  /** Null when namespaces can be used here, else the reason they cannot. */
  static available(): string | null {
    if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'network namespaces need root (run as root to include OS-level faults)';
    const probe = `rlcprobe${process.pid % 10000}`;
    try {
      run(['netns', 'add', probe]);
      run(['netns', 'del', probe]);
      return null;
    } catch (err) {
      return `cannot create network namespaces here: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
  }

  /** Creates the bridge and one namespace + veth per node id. */
  setup(ids: readonly string[]): void {
    this.created = true;
    run(['link', 'add', this.bridge, 'type', 'bridge']);
    run(['addr', 'add', `10.77.${this.subnet}.1/24`, 'dev', this.bridge]);
    run(['link', 'set', this.bridge, 'up']);
    ids.forEach((id, i) => {
      const ns = `rlc-${this.tag}-${id}`;
      const hostVeth = `rlc${this.tag}v${i}`;
      const address = `10.77.${this.subnet}.${10 + i}`;
      run(['netns', 'add', ns]);
      run(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run(['link', 'set', hostVeth, 'master', this.bridge]);
      run(['link', 'set', hostVeth, 'up']);
      run(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      run(['-n', ns, 'link', 'set', 'eth0', 'up']);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
      run(['-n', ns, 'route', 'add', 'default', 'via', `10.77.${this.subnet}.1`]);
      this.nodes.set(id, { id, ns, hostVeth, address });
    });
  }

  private node(id: string): NetnsNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no namespace for ${id}`);
    return n;
  }

  /** The command that runs `cmd args` inside the node's namespace (`ip netns exec` execs it: same PID). */
  wrap(id: string, cmd: string, args: readonly string[]): [string, string[]] {
    return [IP, ['netns', 'exec', this.node(id).ns, cmd, ...args]];
  }

  /** Takes the node's link down (cut off from every peer and client) or up. */
  setLink(id: string, up: boolean): void {
    run(['link', 'set', this.node(id).hostVeth, up ? 'up' : 'down']);
  }

  /** `tc netem` on the node's interface: delay ± jitter and loss (%); replaces any earlier one. */
  netem(id: string, delayMs: number, jitterMs: number, lossPct: number): void {
    const ns = this.node(id).ns;
    tryRun(['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    execFileSync(IP, ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`, `${jitterMs}ms`, 'loss', `${lossPct}%`], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  }

  /** Null when `tc netem` works in the namespaces, else why not (e.g. the kernel lacks sch_netem). */
  netemAvailable(): string | null {
    const first = this.nodes.values().next();
    if (first.done === true) return 'no namespaces set up';
    try {
      execFileSync(IP, ['netns', 'exec', first.value.ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', '1ms'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      tryRun(['netns', 'exec', first.value.ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
      return null;
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      return `tc netem unavailable: ${stderr !== undefined && stderr !== '' ? stderr : String(err)}`;
    }
  }

  /** Every link up, every netem removed. */
  heal(): void {
    for (const n of this.nodes.values()) {
      tryRun(['link', 'set', n.hostVeth, 'up']);
      tryRun(['netns', 'exec', n.ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    }
  }

  /** Deletes every namespace, veth and the bridge made here. */
  teardown(): void {
    if (!this.created) return;
    for (const n of this.nodes.values()) {
      tryRun(['link', 'del', n.hostVeth]);
      tryRun(['netns', 'del', n.ns]);
    }
    tryRun(['link', 'del', this.bridge]);
    this.nodes.clear();
    this.created = false;
  }
}
