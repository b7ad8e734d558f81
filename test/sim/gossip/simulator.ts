import assert from "node:assert/strict";
import { seededRng } from "../../../src/runtime/rng.ts";
import type { Rng } from "../../../src/runtime/rng.ts";
import type { GossipConfig } from "../../../src/gossip/config.ts";
import { MemberStatus } from "../../../src/gossip/member-state.ts";
import { CoordinateTracker } from "../../../src/gossip/coordinate-tracker.ts";
import { Swim } from "../../../src/gossip/swim.ts";
import type { GossipEvent, InitialMember } from "../../../src/gossip/swim.ts";
import { EventHeap } from "./event-heap.ts";

// A deterministic world for the gossip core: one seeded RNG drives every member's randomness,
// the network (delay, jitter, loss, partitions), clock skew and drift, CPU-starved members,
// crashes and restarts. Nothing reads the wall clock, so a seed replays exactly.

export interface NetworkConditions {
  /** One-way delay = baseDelayMs + uniform jitter in [0, jitterMs); jitter also reorders. */
  baseDelayMs: number;
  jitterMs: number;
  /** Probability that a UDP datagram is lost (TCP streams are reliable but can be cut). */
  lossRate: number;
  /** Extra one-way delay between two members (a network with geography); absent: none. */
  pairDelayMs?: (from: number, to: number) => number;
}

interface SimMember {
  readonly index: number;
  readonly name: string;
  readonly addr: string;
  swim: Swim;
  /** Present when the simulation runs network coordinates. */
  coordinates?: CoordinateTracker;
  up: boolean;
  /** Extra processing lag of a CPU-starved member, 0 for a healthy one. */
  lagMs: number;
  /** Local clock = offsetMs + simMs × (1 + drift). */
  readonly offsetMs: number;
  readonly drift: number;
  /** Incremented on restart so events for a previous life are dropped. */
  life: number;
  wakeAtMs: number;
  /** UDP bytes sent (failure detection and gossip). */
  bytesSent: number;
  /** TCP bytes sent (push-pull anti-entropy, fallback pings). */
  streamBytesSent: number;
}

type SimEvent =
  | { atMs: number; order: number; kind: "wake"; member: number; life: number }
  | { atMs: number; order: number; kind: "packet"; to: number; fromAddr: string; bytes: Uint8Array }
  | { atMs: number; order: number; kind: "streamRequest"; from: number; fromLife: number; to: number; id: number; bytes: Uint8Array }
  | { atMs: number; order: number; kind: "streamReply"; to: number; life: number; id: number; bytes: Uint8Array | undefined }
  | { atMs: number; order: number; kind: "action"; run: () => void };

export type EventObserver = (observer: number, event: GossipEvent, simMs: number) => void;

export interface SimulatorOptions {
  seed: number;
  members: number;
  config: GossipConfig;
  network: NetworkConditions;
  /** The first `members - joiners` start with each other in their lists (a converged cluster). */
  joiners: number;
  /** Run serf's Vivaldi coordinates on every member (acks carry coordinates). */
  coordinates?: boolean;
}

export class GossipSimulator {
  readonly rng: Rng;
  readonly config: GossipConfig;
  readonly network: NetworkConditions;
  readonly members: SimMember[] = [];
  readonly #coordinates: boolean;
  readonly #byAddr = new Map<string, number>();
  readonly #heap = new EventHeap<SimEvent>();
  #order = 0;
  #nowMs = 0;
  /** Partition group per member; members in different groups cannot talk. */
  #group: Int32Array;
  #observers: EventObserver[] = [];
  packetsDelivered = 0;
  packetsDropped = 0;
  eventsProcessed = 0;

  constructor(options: SimulatorOptions) {
    this.rng = seededRng(options.seed);
    this.config = options.config;
    this.network = { ...options.network };
    this.#coordinates = options.coordinates === true;
    this.#group = new Int32Array(options.members);
    const initial: InitialMember[] = [];
    for (let i = 0; i < options.members; i++) {
      const name = memberName(i);
      const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8301`;
      initial.push({ name, addr, tags: { role: "node", dc: "dc1" }, incarnation: 1 });
    }
    for (let i = 0; i < options.members; i++) {
      const m: SimMember = {
        index: i,
        name: initial[i].name,
        addr: initial[i].addr,
        swim: undefined as unknown as Swim,
        up: true,
        lagMs: 0,
        offsetMs: Math.floor(this.rng.float() * 1_000_000),
        drift: (this.rng.float() - 0.5) * 2e-3,
        life: 0,
        wakeAtMs: Number.POSITIVE_INFINITY,
        bytesSent: 0,
        streamBytesSent: 0,
      };
      this.members.push(m);
      this.#byAddr.set(m.addr, i);
      const isJoiner = i >= options.members - options.joiners;
      m.swim = this.#newSwim(m, isJoiner ? [] : initial.slice(0, options.members - options.joiners));
      this.#scheduleWake(m);
    }
  }

  get nowMs(): number {
    return this.#nowMs;
  }

  observe(fn: EventObserver): void {
    this.#observers.push(fn);
  }

  at(simMs: number, run: () => void): void {
    this.#push({ atMs: simMs, order: 0, kind: "action", run });
  }

  /**
   * Runs events up to simMs. `stop` is a convergence check, evaluated at most once per
   * `checkEveryMs` of simulated time (the measured times are that precise) because checks
   * that scan every member after every event would dominate the run time.
   */
  runUntil(simMs: number, stop?: () => boolean, checkEveryMs = 50): boolean {
    let nextCheckMs = this.#nowMs;
    for (;;) {
      const next = this.#heap.peek();
      if (!next || next.atMs > simMs) break;
      this.#heap.pop();
      this.#nowMs = next.atMs;
      this.#process(next);
      this.eventsProcessed++;
      if (stop && this.#nowMs >= nextCheckMs) {
        if (stop()) return true;
        nextCheckMs = this.#nowMs + checkEveryMs;
      }
    }
    this.#nowMs = simMs;
    return stop ? stop() : false;
  }

  localNow(m: SimMember): number {
    return Math.floor(m.offsetMs + this.#nowMs * (1 + m.drift));
  }

  crash(i: number): void {
    const m = this.members[i];
    m.up = false;
    m.life++;
    m.wakeAtMs = Number.POSITIVE_INFINITY;
  }

  /** Restarts a crashed member with empty state (incarnation 1) and joins it via a seed. */
  restart(i: number, seed: number): void {
    const m = this.members[i];
    m.up = true;
    m.life++;
    m.wakeAtMs = Number.POSITIVE_INFINITY;
    m.swim = this.#newSwim(m, []);
    m.swim.join([this.members[seed].addr]);
    this.#flush(m);
  }

  /** Adds nothing new: member i joins through seed (used for members created empty). */
  join(i: number, seed: number): void {
    const m = this.members[i];
    m.swim.join([this.members[seed].addr]);
    this.#flush(m);
  }

  leave(i: number): void {
    const m = this.members[i];
    m.swim.leave(this.localNow(m));
    this.#flush(m);
  }

  /** Member i force-leaves `subject` (serf leave intent); false when i does not know it. */
  forceLeave(i: number, subject: number, prune: boolean): boolean {
    const m = this.members[i];
    const known = m.swim.forceLeave(this.members[subject].name, prune, this.localNow(m));
    this.#flush(m);
    return known;
  }

  userEvent(i: number, name: string, payload: Uint8Array): void {
    const m = this.members[i];
    m.swim.userEvent(name, payload, false);
    this.#flush(m);
  }

  setLag(i: number, lagMs: number): void {
    this.members[i].lagMs = lagMs;
  }

  /** Splits members into groups (group[i] = partition id); all 0 heals the network. */
  partition(groupOf: (i: number) => number): void {
    for (let i = 0; i < this.#group.length; i++) this.#group[i] = groupOf(i);
  }

  heal(): void {
    this.#group.fill(0);
  }

  connected(a: number, b: number): boolean {
    return this.#group[a] === this.#group[b];
  }

  status(observer: number, subject: number): MemberStatus | undefined {
    return this.members[observer].swim.member(this.members[subject].name)?.status;
  }

  #newSwim(m: SimMember, initial: InitialMember[]): Swim {
    m.coordinates = this.#coordinates ? new CoordinateTracker(m.name, seededRng(Math.floor(this.rng.float() * 2 ** 32))) : undefined;
    return new Swim({
      ping: m.coordinates,
      name: m.name,
      addr: m.addr,
      tags: { role: "node", dc: "dc1" },
      config: this.config,
      rng: seededRng(Math.floor(this.rng.float() * 2 ** 32)),
      nowMs: this.localNow(m),
      initialMembers: initial,
    });
  }

  #push(e: SimEvent): void {
    e.order = this.#order++;
    this.#heap.push(e);
  }

  #delay(from?: number, to?: number): number {
    const extra = from !== undefined && to !== undefined && this.network.pairDelayMs ? this.network.pairDelayMs(from, to) : 0;
    return this.network.baseDelayMs + this.rng.float() * this.network.jitterMs + extra;
  }

  #process(e: SimEvent): void {
    switch (e.kind) {
      case "action":
        e.run();
        return;
      case "wake": {
        const m = this.members[e.member];
        if (!m.up || e.life !== m.life || e.atMs !== m.wakeAtMs) return;
        m.wakeAtMs = Number.POSITIVE_INFINITY;
        m.swim.tick(this.localNow(m));
        this.#flush(m);
        return;
      }
      case "packet": {
        const m = this.members[e.to];
        if (!m.up) return;
        this.packetsDelivered++;
        m.swim.receive(e.fromAddr, e.bytes, this.localNow(m));
        this.#flush(m);
        return;
      }
      case "streamRequest": {
        const to = this.members[e.to];
        const from = this.members[e.from];
        let reply: Uint8Array | undefined;
        const reachable = this.connected(e.from, e.to);
        if (reachable && to.up) {
          reply = to.swim.handleStream(from.addr, e.bytes, this.localNow(to));
          if (reply) to.streamBytesSent += reply.length;
          this.#flush(to);
        }
        // A crashed process refuses at once; a partitioned host fails only at the TCP timeout.
        const back = reachable ? this.#delay(e.to, e.from) + to.lagMs : this.config.tcpTimeoutMs;
        this.#push({ atMs: this.#nowMs + back, order: 0, kind: "streamReply", to: e.from, life: e.fromLife, id: e.id, bytes: reply });
        return;
      }
      case "streamReply": {
        const m = this.members[e.to];
        if (!m.up || m.life !== e.life) return;
        m.swim.receiveStreamReply(e.id, e.bytes, this.localNow(m));
        this.#flush(m);
        return;
      }
    }
  }

  /** Carries out a member's effects: schedule deliveries, report events, re-arm its wake. */
  #flush(m: SimMember): void {
    const out = m.swim.ready();
    for (const ev of out.events) for (const fn of this.#observers) fn(m.index, ev, this.#nowMs);
    for (const p of out.packets) {
      m.bytesSent += p.bytes.length;
      const to = this.#byAddr.get(p.to);
      assert(to !== undefined, `packet to unknown address ${p.to}`);
      assert(p.bytes.length <= this.config.udpBufferSizeBytes, `packet of ${p.bytes.length} bytes exceeds the UDP budget`);
      if (!this.connected(m.index, to) || this.rng.float() < this.network.lossRate) {
        this.packetsDropped++;
        continue;
      }
      const lag = this.members[to].lagMs + m.lagMs;
      this.#push({ atMs: this.#nowMs + this.#delay(m.index, to) + lag, order: 0, kind: "packet", to, fromAddr: m.addr, bytes: p.bytes });
    }
    for (const s of out.streams) {
      m.streamBytesSent += s.bytes.length;
      const to = this.#byAddr.get(s.to);
      assert(to !== undefined, `stream to unknown address ${s.to}`);
      this.#push({ atMs: this.#nowMs + this.#delay(m.index, to) + m.lagMs, order: 0, kind: "streamRequest", from: m.index, fromLife: m.life, to, id: s.id, bytes: s.bytes });
    }
    // Invariant: a member never believes itself anything but alive unless it is leaving.
    const self = m.swim.localMember;
    assert(self.status === MemberStatus.alive || m.swim.isLeaving, `${m.name} sees itself ${self.status}`);
    this.#scheduleWake(m);
  }

  #scheduleWake(m: SimMember): void {
    const localDeadline = m.swim.nextDeadlineMs();
    if (!Number.isFinite(localDeadline)) return;
    let simAt = Math.ceil((localDeadline - m.offsetMs) / (1 + m.drift));
    if (simAt < this.#nowMs) simAt = this.#nowMs;
    simAt += m.lagMs;
    // Make sure the local clock really reached the deadline at the chosen sim time.
    while (Math.floor(m.offsetMs + simAt * (1 + m.drift)) < localDeadline) simAt++;
    if (simAt >= m.wakeAtMs) return;
    m.wakeAtMs = simAt;
    this.#push({ atMs: simAt, order: 0, kind: "wake", member: m.index, life: m.life });
  }
}

export function memberName(i: number): string {
  return `m${String(i).padStart(4, "0")}`;
}
