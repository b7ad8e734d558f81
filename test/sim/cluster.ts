// A deterministic world for Raft nodes: one seeded RNG, one event queue in simulated
// milliseconds, per-node clock drift, a network that delays, drops, duplicates, reorders
// and partitions, a disk whose unsynced writes a crash loses (or tears), restarts, and a KV
// workload whose client history is checked for linearizability at the end.
import type { Rng } from "../../src/runtime/rng.ts";
import { seededRng } from "../../src/runtime/rng.ts";
import type { ConfChange } from "../../src/raft/confchange.ts";
import { ConfChangeType, decodeConfChange } from "../../src/raft/confchange.ts";
import type { ConfState, Entry, Message, Snapshot } from "../../src/raft/messages.ts";
import { EntryType, MessageType } from "../../src/raft/messages.ts";
import { StateType } from "../../src/raft/raft.ts";
import type { Ready } from "../../src/raft/raw-node.ts";
import { RawNode, durableCommittedCount } from "../../src/raft/raw-node.ts";
import { ReadOnlyOption, contextKey } from "../../src/raft/read-only.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { checkLinearizable } from "../lin/checker.ts";
import type { KvOperation } from "../lin/kv-model.ts";
import { kvModel } from "../lin/kv-model.ts";
import { EventQueue } from "./event-queue.ts";
import { InvariantChecker, InvariantViolation } from "./invariants.ts";

export interface SimOptions {
  /** Simulated milliseconds with faults, followed by a quiet phase of healMs. */
  faultMs: number;
  healMs: number;
  /** Record a line per notable event (for replaying a failing seed). */
  trace?: (line: string) => void;
}

export const defaultSimOptions: SimOptions = { faultMs: 3000, healMs: 1500 };

export interface SimResult {
  seed: number;
  ok: boolean;
  error?: string;
  stats: { events: number; ops: number; completedOps: number; leaders: number; crashes: number; snapshots: number; confChanges: number };
}

interface Params {
  voters: number;
  preVote: boolean;
  checkQuorum: boolean;
  readOnly: ReadOnlyOption;
  dropRate: number;
  dupRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  maxInflightMsgs: number;
  maxSizePerMsg: number;
  snapshotEvery: number;
  faultEveryMs: number;
  membership: boolean;
}

interface KvCommand {
  c: number;
  s: number;
  k: string;
  v: string;
}

interface PendingRead {
  op: KvOperation;
  index: number | undefined;
  done: (output: string | null) => void;
}

const TICK_MS = 10;
const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;
const CLIENT_TIMEOUT_MS = 150;
const KEYS = ["k0", "k1", "k2"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class SimNode {
  readonly id: number;
  readonly storage: MemoryStorage;
  raw: RawNode | undefined;
  incarnation = 0;
  /** Tick period in ms: 10 ms scaled by this node's clock drift. */
  readonly tickMs: number;
  pendingReady: Ready | undefined;
  kv = new Map<string, string>();
  sessions = new Map<number, number>();
  applied = 0;
  confState: ConfState;
  pendingWrites = new Map<string, (ok: boolean) => void>();
  pendingReads = new Map<string, PendingRead>();

  constructor(id: number, storage: MemoryStorage, tickMs: number) {
    this.id = id;
    this.storage = storage;
    this.tickMs = tickMs;
    this.confState = storage.initialState().confState;
  }

  get alive(): boolean {
    return this.raw !== undefined;
  }
}

export class Cluster {
  readonly seed: number;
  readonly rng: Rng;
  readonly params: Params;
  readonly opts: SimOptions;
  now = 0;
  private queue = new EventQueue();
  private nodes = new Map<number, SimNode>();
  private blocked = new Set<string>();
  readonly checker = new InvariantChecker();
  readonly history: KvOperation[] = [];
  private events = 0;
  private crashes = 0;
  private snapshots = 0;
  private confChanges = 0;
  private healing = false;
  private lastCompletionAt = 0;

  constructor(seed: number, opts: SimOptions) {
    this.seed = seed;
    this.opts = opts;
    this.rng = seededRng(seed);
    const r = this.rng;
    const checkQuorum = r.float() < 0.7;
    this.params = {
      voters: r.float() < 0.7 ? 3 : 5,
      preVote: r.float() < 0.7,
      checkQuorum,
      readOnly: checkQuorum && r.float() < 0.5 ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      dropRate: r.float() * 0.1,
      dupRate: r.float() * 0.05,
      minDelayMs: 1,
      maxDelayMs: 2 + Math.floor(r.float() * 15),
      maxInflightMsgs: 1 + Math.floor(r.float() * 8),
      maxSizePerMsg: r.float() < 0.5 ? 200 : 64 * 1024,
      snapshotEvery: 10 + Math.floor(r.float() * 40),
      faultEveryMs: 120 + Math.floor(r.float() * 300),
      membership: r.float() < 0.5,
    };
    const initial: ConfState = { voters: [], learners: [] };
    for (let id = 1; id <= this.params.voters; id++) initial.voters.push(id);
    const spareId = this.params.voters + 1;
    for (let id = 1; id <= spareId; id++) {
      const storage = new MemoryStorage();
      // Initial members boot from a snapshot at index 1 that names them; the spare boots
      // empty and learns the configuration from the leader's snapshot once added.
      if (id <= this.params.voters) {
        storage.applySnapshot({ data: encodeState(new Map(), new Map()), metadata: { index: 1, term: 1, confState: initial } });
        storage.setHardState({ term: 1, vote: 0, commit: 1 });
      }
      const drift = 1 + (r.float() * 2 - 1) * 0.02;
      const node = new SimNode(id, storage, TICK_MS * drift);
      this.nodes.set(id, node);
      if (id <= this.params.voters || this.params.membership) this.start(node);
    }
  }

  private trace(line: string): void {
    this.opts.trace?.(`${this.now.toFixed(2).padStart(9)}ms ${line}`);
  }

  private schedule(delayMs: number, run: () => void): void {
    this.queue.push(this.now + delayMs, run);
  }

  private start(node: SimNode): void {
    const snap = node.storage.snapshot();
    const { kv, sessions } = decodeState(snap.data);
    node.kv = kv;
    node.sessions = sessions;
    node.applied = snap.metadata.index;
    node.confState = node.storage.initialState().confState;
    node.pendingReady = undefined;
    node.incarnation++;
    node.raw = new RawNode({
      id: node.id,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      storage: node.storage,
      rng: this.rng,
      applied: node.applied,
      maxSizePerMsg: this.params.maxSizePerMsg,
      maxInflightMsgs: this.params.maxInflightMsgs,
      maxInflightBytes: this.params.maxSizePerMsg * 4,
      // Small, so committed entries are handed out over several Readys (the host's bound).
      maxApplyingBytes: this.params.maxSizePerMsg * 2,
      checkQuorum: this.params.checkQuorum,
      preVote: this.params.preVote,
      readOnlyOption: this.params.readOnly,
    });
    const inc = node.incarnation;
    const tick = (): void => {
      if (node.incarnation !== inc || !node.raw) return;
      node.raw.tick();
      this.afterEvent(node);
      this.schedule(node.tickMs, tick);
    };
    this.schedule(node.tickMs * this.rng.float(), tick);
  }

  private crash(node: SimNode): void {
    if (!node.raw) return;
    this.crashes++;
    const rd = node.pendingReady;
    let torn = "";
    if (rd && this.rng.float() < 0.5) {
      // The write in flight is torn: recovery keeps a prefix of its records (the snapshot
      // record first, then entries) and drops the hard state written after them.
      if (rd.snapshot) node.storage.applySnapshot(rd.snapshot);
      if (!rd.snapshot || this.rng.float() < 0.5) {
        const keep = Math.floor(this.rng.float() * (rd.entries.length + 1));
        node.storage.append(rd.entries.slice(0, keep));
        torn = ` (torn write kept ${keep}/${rd.entries.length} entries)`;
      }
    }
    this.trace(`crash ${node.id}${torn}`);
    node.raw = undefined;
    node.pendingReady = undefined;
    node.incarnation++;
    for (const done of node.pendingWrites.values()) done(false);
    node.pendingWrites.clear();
    node.pendingReads.clear();
  }

  /** After any input to a node: check invariants, then carry out its Ready if any. */
  private afterEvent(node: SimNode): void {
    this.events++;
    const raw = node.raw;
    if (!raw) return;
    this.checker.observe(raw.raft);
    // As the host does: answers to heartbeats leave at once, even while a write is in flight.
    for (const m of raw.takeHeartbeatResponses()) this.send(m);
    if (node.pendingReady) {
      // As the host does: entries committed meanwhile that are durable here apply at once.
      for (const e of raw.takeDurableCommitted()) this.apply(node, e);
      this.serveReads(node);
      return;
    }
    if (!raw.hasReady()) return;
    const rd = raw.ready();
    node.pendingReady = rd;
    const inc = node.incarnation;
    const needsDisk = rd.entries.length > 0 || rd.hardState !== undefined || rd.snapshot !== undefined;
    // A leader's messages leave while its write is in flight (so a crash can lose entries it
    // already sent); everything else waits for the fsync (Ready's ordering contract).
    if (rd.sendBeforePersist) for (const m of rd.messages) this.send(m);
    // Entries durable here already are applied while the write is in flight, as the host does.
    const early = durableCommittedCount(rd);
    for (let i = 0; i < early; i++) this.apply(node, rd.committedEntries[i]);
    const diskMs = needsDisk ? 0.05 + this.rng.float() * (rd.mustSync ? 1.5 : 0.1) : 0;
    this.schedule(diskMs, () => {
      if (node.incarnation !== inc) return;
      this.finishReady(node, rd);
    });
  }

  private finishReady(node: SimNode, rd: Ready): void {
    const raw = node.raw;
    if (!raw) return;
    if (rd.softState) this.trace(`node ${node.id} is ${rd.softState.raftState.replace("State", "")} (lead ${rd.softState.lead}, term ${raw.raft.term})`);
    if (rd.snapshot) {
      node.storage.applySnapshot(rd.snapshot);
      this.restoreFromSnapshot(node, rd.snapshot);
    }
    node.storage.append(rd.entries);
    if (rd.hardState) node.storage.setHardState(rd.hardState);
    if (!rd.sendBeforePersist) for (const m of rd.messages) this.send(m);
    for (let i = durableCommittedCount(rd); i < rd.committedEntries.length; i++) this.apply(node, rd.committedEntries[i]);
    for (const rs of rd.readStates) {
      const pr = node.pendingReads.get(contextKey(rs.requestCtx));
      if (pr) pr.index = rs.index;
    }
    this.serveReads(node);
    raw.advance();
    node.pendingReady = undefined;
    this.maybeSnapshot(node);
    this.afterEvent(node);
  }

  private restoreFromSnapshot(node: SimNode, snap: Snapshot): void {
    const { kv, sessions } = decodeState(snap.data);
    node.kv = kv;
    node.sessions = sessions;
    node.applied = snap.metadata.index;
    node.confState = snap.metadata.confState;
  }

  private apply(node: SimNode, e: Entry): void {
    this.checker.onApply(node.id, e, node.applied + 1);
    node.applied = e.index;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      node.confState = (node.raw as RawNode).applyConfChange(cc);
      this.trace(`node ${node.id} applied ${cc.type} ${cc.nodeId} at ${e.index} -> voters=${node.confState.voters} learners=${node.confState.learners}`);
      // A fresh snapshot names the new member, so the leader can bring it up to date.
      this.takeSnapshot(node);
      return;
    }
    if (e.data.byteLength === 0) return;
    const cmd = JSON.parse(decoder.decode(e.data)) as KvCommand;
    // Sessions make proposals idempotent: the network may duplicate a forwarded proposal.
    if ((node.sessions.get(cmd.c) ?? 0) >= cmd.s) return;
    node.sessions.set(cmd.c, cmd.s);
    node.kv.set(cmd.k, cmd.v);
    const done = node.pendingWrites.get(`${cmd.c}:${cmd.s}`);
    if (done) {
      node.pendingWrites.delete(`${cmd.c}:${cmd.s}`);
      done(true);
    }
  }

  private serveReads(node: SimNode): void {
    for (const [key, pr] of node.pendingReads) {
      if (pr.index !== undefined && node.applied >= pr.index) {
        node.pendingReads.delete(key);
        const key2 = pr.op.input.key;
        pr.done(node.kv.get(key2) ?? null);
      }
    }
  }

  private maybeSnapshot(node: SimNode): void {
    if (node.applied - node.storage.firstIndex() + 1 < this.params.snapshotEvery) return;
    this.takeSnapshot(node);
  }

  private takeSnapshot(node: SimNode): void {
    const snapIndex = node.storage.snapshot().metadata.index;
    if (node.applied <= snapIndex || node.applied > node.storage.lastIndex()) return;
    node.storage.createSnapshot(node.applied, node.confState, encodeState(node.kv, node.sessions));
    this.snapshots++;
    // Keep a few entries so slow followers can often catch up without a snapshot.
    const compactTo = node.applied - 3;
    if (compactTo > node.storage.firstIndex()) node.storage.compact(compactTo);
  }

  private send(m: Message): void {
    const r = this.rng;
    const deliveries = r.float() < this.params.dupRate ? 2 : 1;
    const dropped = r.float() < this.params.dropRate;
    for (let i = 0; i < deliveries; i++) {
      const delay = this.params.minDelayMs + r.float() * (this.params.maxDelayMs - this.params.minDelayMs);
      this.schedule(delay, () => this.deliver(m, dropped));
    }
  }

  private deliver(m: Message, dropped: boolean): void {
    const to = this.nodes.get(m.to);
    const lost = dropped || this.blocked.has(`${m.from}>${m.to}`) || !to?.raw;
    if (m.type === MessageType.Snap) {
      // The transport tells the sender how its snapshot fared (etcd's ReportSnapshot).
      const from = this.nodes.get(m.from);
      if (from?.raw) {
        from.raw.reportSnapshot(m.to, lost);
        this.afterEvent(from);
      }
    }
    if (lost || !to?.raw) return;
    // Each delivery gets its own copy: the receiver may keep or rewrite what it is given.
    to.raw.step({ ...m, entries: m.entries.slice() });
    this.afterEvent(to);
  }

  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.raw?.raft.state === StateType.Leader && (!best || n.raw.raft.term > (best.raw as RawNode).raft.term)) best = n;
    }
    return best;
  }

  private aliveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  // --- workload ---

  private startClient(clientId: number): void {
    let seq = 0;
    // Like a real client, stick to the node believed to be the leader until it stops
    // answering, then ask a random node who leads: stale leaders get traffic too.
    let preferred = 0;
    const state = { failed: true };
    const next = (): void => {
      if (this.now > this.opts.faultMs + this.opts.healMs) return;
      const alive = this.aliveNodes();
      if (state.failed || this.rng.float() < 0.05) {
        const asked = alive[Math.floor(this.rng.float() * alive.length)];
        preferred = asked?.raw?.raft.lead || asked?.id || 0;
      }
      state.failed = false;
      let node = this.nodes.get(preferred);
      if (!node?.raw || this.rng.float() < 0.1) node = alive[Math.floor(this.rng.float() * alive.length)];
      if (!node?.raw) {
        this.schedule(5, next);
        return;
      }
      const key = KEYS[Math.floor(this.rng.float() * KEYS.length)];
      if (this.rng.float() < 0.5) this.put(node, clientId, ++seq, key, state, next);
      else this.get(node, clientId, key, state, next);
    };
    this.schedule(this.rng.float() * 20, next);
  }

  private put(node: SimNode, clientId: number, seq: number, key: string, state: { failed: boolean }, next: () => void): void {
    const value = `c${clientId}s${seq}`;
    const op: KvOperation = { clientId, input: { op: "put", key, value }, output: undefined, call: this.now, return: Infinity };
    const raw = node.raw as RawNode;
    const err = raw.propose(encoder.encode(JSON.stringify({ c: clientId, s: seq, k: key, v: value } satisfies KvCommand)));
    this.afterEvent(node);
    if (err !== undefined) {
      // Dropped before it reached any log: it never happened.
      state.failed = true;
      this.schedule(2 + this.rng.float() * 5, next);
      return;
    }
    this.history.push(op);
    let finished = false;
    const finish = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      if (ok) {
        op.output = null;
        op.return = this.now;
        this.lastCompletionAt = this.now;
      } else state.failed = true;
      this.schedule(1 + this.rng.float() * 3, next);
    };
    node.pendingWrites.set(`${clientId}:${seq}`, finish);
    this.schedule(CLIENT_TIMEOUT_MS, () => {
      node.pendingWrites.delete(`${clientId}:${seq}`);
      finish(false);
    });
  }

  private get(node: SimNode, clientId: number, key: string, state: { failed: boolean }, next: () => void): void {
    const ctxKey = `r${clientId}:${this.events}:${this.history.length}`;
    const ctx = encoder.encode(ctxKey);
    const op: KvOperation = { clientId, input: { op: "get", key }, output: undefined, call: this.now, return: Infinity };
    let finished = false;
    const finish = (output: string | null | undefined): void => {
      if (finished) return;
      finished = true;
      if (output !== undefined) {
        op.output = output;
        op.return = this.now;
        this.history.push(op);
        this.lastCompletionAt = this.now;
      } else state.failed = true;
      this.schedule(1 + this.rng.float() * 3, next);
    };
    node.pendingReads.set(contextKey(ctx), { op, index: undefined, done: finish });
    const err = (node.raw as RawNode).readIndex(ctx);
    this.afterEvent(node);
    if (err !== undefined) {
      node.pendingReads.delete(contextKey(ctx));
      finish(undefined);
      return;
    }
    this.schedule(CLIENT_TIMEOUT_MS, () => {
      node.pendingReads.delete(contextKey(ctx));
      finish(undefined);
    });
  }

  // --- faults ---

  private fault(): void {
    if (this.now >= this.opts.faultMs) return;
    const r = this.rng.float();
    const all = [...this.nodes.values()];
    const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(this.rng.float() * xs.length)];
    if (r < 0.25) {
      const victim = pick(this.aliveNodes());
      if (victim) {
        this.crash(victim);
        const inc = victim.incarnation;
        this.schedule(20 + this.rng.float() * 400, () => {
          if (victim.incarnation !== inc || this.healing) return;
          this.trace(`restart ${victim.id}`);
          this.start(victim);
        });
      }
    } else if (r < 0.45) {
      // A partition: symmetric split, or one direction only.
      const ids = all.map((n) => n.id);
      // Often cut the leader off (a stale leader is where linearizability bugs live),
      // otherwise a random split; both sides non-empty.
      const leader = this.leaderNode();
      let side = new Set(ids.filter(() => this.rng.float() < 0.5));
      if (leader && this.rng.float() < 0.5) side = new Set([leader.id]);
      if (side.size === 0 || side.size === ids.length) side = new Set([ids[Math.floor(this.rng.float() * ids.length)]]);
      const oneWay = this.rng.float() < 0.3;
      for (const a of ids) {
        for (const b of ids) {
          if (side.has(a) && !side.has(b)) {
            this.blocked.add(`${a}>${b}`);
            if (!oneWay) this.blocked.add(`${b}>${a}`);
          }
        }
      }
      this.trace(`partition ${[...side].join(",")} | rest${oneWay ? " (one way)" : ""}`);
      this.schedule(100 + this.rng.float() * 700, () => {
        this.blocked.clear();
        this.trace("heal partition");
      });
    } else if (r < 0.55) {
      const leader = this.leaderNode();
      const target = pick([...(leader?.raw?.raft.voters ?? [])].filter((id) => id !== leader?.id));
      if (leader?.raw && target !== undefined) {
        this.trace(`transfer leadership ${leader.id} -> ${target}`);
        leader.raw.transferLeader(target);
        this.afterEvent(leader);
      }
    } else if (r < 0.75 && this.params.membership) {
      this.membershipStep();
    }
    this.schedule(this.params.faultEveryMs * (0.5 + this.rng.float()), () => this.fault());
  }

  /** Walks the membership through add learner → promote → remove a voter, one change at a time. */
  private membershipStep(): void {
    const leader = this.leaderNode();
    if (!leader?.raw) return;
    const raft = leader.raw.raft;
    const members = new Set([...raft.voters, ...raft.learners]);
    let cc: ConfChange | undefined;
    const learner = [...raft.learners][0];
    if (learner !== undefined) {
      const pr = raft.prs.get(learner);
      // Promote a learner only once it has caught up with the leader.
      if (pr && pr.match >= raft.raftLog.committed) cc = { type: ConfChangeType.AddNode, nodeId: learner };
    } else if (raft.voters.size > this.params.voters) {
      const voters = [...raft.voters];
      cc = { type: ConfChangeType.RemoveNode, nodeId: voters[Math.floor(this.rng.float() * voters.length)] };
    } else {
      const spare = [...this.nodes.keys()].find((id) => !members.has(id));
      if (spare !== undefined) cc = { type: ConfChangeType.AddLearnerNode, nodeId: spare };
    }
    if (!cc) return;
    const err = leader.raw.proposeConfChange(cc);
    this.trace(`propose ${cc.type} ${cc.nodeId} on ${leader.id}${err ? `: ${err}` : ""}`);
    if (!err) this.confChanges++;
    this.afterEvent(leader);
  }

  private heal(): void {
    this.healing = true;
    this.blocked.clear();
    this.trace("heal all");
    for (const n of this.nodes.values()) {
      const member = this.params.membership || n.id <= this.params.voters;
      if (!n.alive && member) this.start(n);
    }
  }

  run(): SimResult {
    const stats = (): SimResult["stats"] => ({
      events: this.events,
      ops: this.history.length,
      completedOps: this.history.filter((o) => o.return !== Infinity).length,
      leaders: this.checker.leaderCount(),
      crashes: this.crashes,
      snapshots: this.snapshots,
      confChanges: this.confChanges,
    });
    try {
      for (let c = 1; c <= 4; c++) this.startClient(c);
      this.schedule(this.params.faultEveryMs, () => this.fault());
      this.schedule(this.opts.faultMs, () => this.heal());
      const end = this.opts.faultMs + this.opts.healMs;
      for (;;) {
        const ev = this.queue.pop();
        if (!ev || ev.at > end) break;
        this.now = ev.at;
        ev.run();
      }
      // Liveness once the faults stop: a healed cluster must serve clients again.
      if (this.lastCompletionAt < this.opts.faultMs + 200) {
        throw new InvariantViolation(`liveness: no client operation completed after the cluster healed at ${this.opts.faultMs}ms`);
      }
      const lin = checkLinearizable(kvModel, this.history);
      if (!lin.ok) throw new InvariantViolation(`linearizability: the KV history for key partition ${lin.failedPartition} is not linearizable`);
      return { seed: this.seed, ok: true, stats: stats() };
    } catch (err) {
      const msg = err instanceof Error ? (err instanceof InvariantViolation ? err.message : (err.stack ?? err.message)) : String(err);
      return { seed: this.seed, ok: false, error: `at ${this.now.toFixed(2)}ms: ${msg}`, stats: stats() };
    }
  }

  describe(): string {
    return JSON.stringify(this.params);
  }
}

function encodeState(kv: Map<string, string>, sessions: Map<number, number>): Uint8Array {
  return encoder.encode(JSON.stringify({ kv: [...kv], sessions: [...sessions] }));
}

function decodeState(data: Uint8Array): { kv: Map<string, string>; sessions: Map<number, number> } {
  if (data.byteLength === 0) return { kv: new Map(), sessions: new Map() };
  const parsed = JSON.parse(decoder.decode(data)) as { kv: [string, string][]; sessions: [number, number][] };
  return { kv: new Map(parsed.kv), sessions: new Map(parsed.sessions) };
}

export function runSeed(seed: number, opts: SimOptions = defaultSimOptions): SimResult & { params: string } {
  const cluster = new Cluster(seed, opts);
  return { ...cluster.run(), params: cluster.describe() };
}
