import type { ConfChange } from '../../raft/index.js';
import type { SimCluster } from './cluster.js';
import type { Prng } from './prng.js';
import { drawNetwork, STORM_FACTOR } from './schedule.js';
import type { SimProfile } from './schedule.js';
import type { ProposalLedger } from './workload.js';

/**
 * Draws the faults of the fault phase, one step at a time, from the seed's profile:
 * crashes (with restarts after a random delay), symmetric and asymmetric partitions,
 * heals, clock-rate changes, network quality changes, membership changes, leadership
 * transfers and log compactions. Every choice comes from its own PRNG stream.
 */
export interface FaultStats {
  crashes: number;
  /** Crashes between a write and its fsync (injected by the cluster, counted at the end). */
  crashesMidWrite: number;
  /** Crash-restarts of a voter with a campaign message in flight to it (also the cluster's). */
  campaignRestarts: number;
  partitions: number;
  asymmetric: number;
  heals: number;
  clockChanges: number;
  confChanges: number;
  confChangesAccepted: number;
  transfers: number;
  compactions: number;
  networkChanges: number;
  storms: number;
  leaseAttacks: number;
}

export class FaultPlanner {
  readonly stats: FaultStats = {
    crashes: 0,
    crashesMidWrite: 0,
    campaignRestarts: 0,
    partitions: 0,
    asymmetric: 0,
    heals: 0,
    clockChanges: 0,
    confChanges: 0,
    confChangesAccepted: 0,
    transfers: 0,
    compactions: 0,
    networkChanges: 0,
    storms: 0,
    leaseAttacks: 0,
  };
  private confOpNext = 1_000_000;

  constructor(
    private readonly cluster: SimCluster,
    private readonly profile: SimProfile,
    private readonly prng: Prng,
    private readonly ledger: ProposalLedger,
    private readonly features: { readonly membership: boolean },
  ) {}

  private stormStepsLeft = 0;

  act(): void {
    const f = this.profile.faults;
    const p = this.prng;
    if (this.stormStepsLeft > 0) this.stormStepsLeft--;
    else if (p.chance(f.storm)) {
      this.stormStepsLeft = p.intBetween(20, 200);
      this.stats.storms++;
      this.cluster.note(`FAULT storm for ${this.stormStepsLeft} steps`);
    }
    const k = this.stormStepsLeft > 0 ? STORM_FACTOR : 1;
    if (p.chance(f.crash * k)) this.crash();
    if (p.chance(f.partition * k)) this.partition();
    if (p.chance(f.asymmetric * k)) this.asymmetric();
    // Heals are not stormed: a storm is meant to pile faults up.
    if (p.chance(f.heal)) this.heal();
    if (p.chance(f.clockRate * k)) this.clockRate();
    if (p.chance(f.confChange * k) && this.features.membership) this.confChange();
    if (p.chance(f.transfer * k)) this.transfer();
    if (p.chance(f.compact * k)) this.compact();
    if (p.chance(f.networkChange * k)) this.networkChange();
    if (p.chance(f.leaseAttack)) this.leaseAttack();
  }

  private crash(): void {
    const up = this.cluster.nodes.filter((n) => n.up);
    if (up.length === 0) return;
    const leader = this.cluster.likelyLeader();
    const num = leader !== null && this.prng.chance(0.5) ? leader : this.prng.pick(up).num;
    this.stats.crashes++;
    this.cluster.crashAndRestart(num);
  }

  private allNums(): number[] {
    return this.cluster.nodes.map((n) => n.num);
  }

  private partition(): void {
    const leader = this.cluster.likelyLeader();
    let a: number[];
    let b: number[];
    if (leader !== null && this.prng.chance(1 / 3)) {
      a = [leader];
      b = this.allNums().filter((x) => x !== leader);
    } else {
      const nums = this.prng.shuffled(this.allNums());
      const sideSize = this.prng.intBetween(1, Math.floor(nums.length / 2));
      a = nums.slice(0, sideSize);
      b = nums.slice(sideSize);
    }
    this.cluster.network.healAll();
    this.cluster.network.partition(a, b);
    this.stats.partitions++;
    this.cluster.note(`FAULT partition {${a.map((x) => `n${x}`).join(',')}} | {${b.map((x) => `n${x}`).join(',')}}`);
  }

  private asymmetric(): void {
    const nums = this.allNums();
    const net = this.cluster.network;
    this.stats.asymmetric++;
    const leader = this.cluster.likelyLeader();
    const node = leader !== null && this.prng.chance(0.5) ? leader : this.prng.pick(nums);
    const mode = this.prng.nextInt(4);
    if (mode === 0) {
      // The node hears nobody but everyone hears it (e.g. a broken receive path).
      for (const o of nums) if (o !== node) net.block(o, node);
      this.cluster.note(`FAULT n${node} deaf (inbound cut)`);
    } else if (mode === 1) {
      for (const o of nums) if (o !== node) net.block(node, o);
      this.cluster.note(`FAULT n${node} mute (outbound cut)`);
    } else if (mode === 2) {
      // Two nodes lose each other (both ways) but still reach everyone else.
      const other = this.prng.pick(nums.filter((x) => x !== node));
      net.block(node, other);
      net.block(other, node);
      this.cluster.note(`FAULT n${node} <-/-> n${other}`);
    } else {
      const links = this.prng.intBetween(1, nums.length);
      const cut: string[] = [];
      for (let i = 0; i < links; i++) {
        const from = this.prng.pick(nums);
        const to = this.prng.pick(nums);
        if (from === to) continue;
        net.block(from, to);
        cut.push(`n${from}->n${to}`);
      }
      this.cluster.note(`FAULT one-way cuts ${cut.join(' ')}`);
    }
  }

  private heal(): void {
    if (this.cluster.network.blockedLinkCount === 0) return;
    this.stats.heals++;
    this.cluster.network.healAll();
    this.cluster.note('FAULT heal links');
  }

  private clockRate(): void {
    const d = this.profile.clockDriftMax;
    const n = this.prng.pick(this.cluster.nodes);
    this.stats.clockChanges++;
    // Rates at the extremes of the bound half the time: they stress the lease the most.
    const rate = this.prng.chance(0.5) ? 1 + (this.prng.chance(0.5) ? d : -d) : 1 + this.prng.floatBetween(-d, d);
    this.cluster.setClockRate(n.num, rate);
  }

  private confChange(): void {
    const leader = this.cluster.likelyLeader();
    if (leader === null) return;
    const st = this.cluster.status(leader);
    if (st === null || st.role !== 'leader') return;
    const ids = this.cluster.nodes.map((n) => n.id);
    const voters = st.confState.voters;
    const learners = st.confState.learners;
    const others = ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: ConfChange[] = [];
    for (const id of others) options.push({ type: 'addLearner', nodeId: id });
    for (const id of learners) {
      options.push({ type: 'addVoter', nodeId: id });
      options.push({ type: 'removeNode', nodeId: id });
    }
    if (voters.length > 1) {
      for (const id of voters) {
        options.push({ type: 'removeNode', nodeId: id });
        options.push({ type: 'addLearner', nodeId: id });
      }
    }
    if (options.length === 0) return;
    const change = this.prng.pick(options);
    this.stats.confChanges++;
    const r = this.cluster.proposeConfChange(leader, change);
    if (r === null) return;
    if (r.type === 'accepted') this.stats.confChangesAccepted++;
    this.ledger.record(this.confOpNext++, leader, `conf ${change.type} ${change.nodeId}`, r);
  }

  private transfer(): void {
    const leader = this.cluster.likelyLeader();
    if (leader === null) return;
    const others = this.allNums().filter((n) => n !== leader);
    this.stats.transfers++;
    const r = this.cluster.transferLeadership(leader, this.prng.pick(others));
    if (r !== null && r.type === 'started' && this.prng.chance(0.3)) {
      // Cut the old leader off right as it hands over: it must not keep serving leases
      // while the target, bypassing the voters' lease guard, takes over.
      this.cluster.network.partition([leader], others);
      this.stats.partitions++;
      this.cluster.note(`FAULT isolate n${leader} during transfer`);
    }
  }

  private compact(): void {
    const up = this.cluster.nodes.filter((n) => n.up);
    if (up.length === 0) return;
    const n = this.prng.pick(up);
    if (this.cluster.compact(n.num, this.prng.intBetween(0, 4))) this.stats.compactions++;
  }

  private leaseAttack(): void {
    const leader = this.cluster.likelyLeader();
    if (leader === null) return;
    const others = this.prng.shuffled(this.allNums().filter((x) => x !== leader));
    const cutOff = others[0];
    const restarted = others[1];
    if (cutOff === undefined || restarted === undefined || !this.cluster.node(restarted).up) return;
    this.stats.leaseAttacks++;
    this.cluster.network.block(leader, cutOff);
    this.cluster.network.block(cutOff, leader);
    this.cluster.note(`FAULT lease attack: n${leader} <-/-> n${cutOff}, quick restart of n${restarted}`);
    this.cluster.crash(restarted, 0);
    this.cluster.scheduleRestart(restarted, this.prng.floatBetween(0.5, 3));
  }

  private networkChange(): void {
    const o = drawNetwork(this.prng);
    this.stats.networkChanges++;
    this.cluster.network.setOptions(o);
    this.cluster.note(
      `FAULT network drop=${o.dropProbability.toFixed(3)} dup=${o.duplicateProbability.toFixed(3)} reorder=${o.reorderProbability.toFixed(3)} delay=${o.delayMsMin}..${o.delayMsMax}`,
    );
  }
}
