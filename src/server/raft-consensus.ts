import type { PreparedApply, StateMachine } from "../fsm/apply.ts";
import type { ApplyResult, Command } from "../fsm/command.ts";
import { ConfChangeType } from "../raft/confchange.ts";
import type { Entry } from "../raft/messages.ts";
import { NONE } from "../raft/messages.ts";
import { StateType } from "../raft/raft.ts";
import type { SoftState } from "../raft/raft.ts";
import type { Clock } from "../runtime/clock.ts";
import { systemClock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Metrics } from "../runtime/metrics.ts";
import { RaftMetrics } from "./raft-metrics.ts";
import type { Rng } from "../runtime/rng.ts";
import { systemRng } from "../runtime/rng.ts";
import { prepareRestore, restorePrepared, restoreState, serializeState, serializeStateSlices } from "../state/snapshot.ts";
import { DiskStorage } from "../storage/disk-storage.ts";
import type { PeerAddress } from "../transport/raft-transport.ts";
import type { Consensus, ProposeOptions } from "./consensus.ts";
import { NotLeaderError as RaftNotLeaderError, RaftNode } from "./raft-node.ts";
import type { RaftLogStatus, RaftSnapshotPolicy } from "./raft-node.ts";
import type { RaftHostStorage } from "./raft-storage.ts";
import { InMemoryRaftStorage } from "./raft-storage.ts";
import type { ServerPortDialer } from "../transport/server-port-tls.ts";
import { RAFT_PROTOCOL_BYTE } from "../transport/rpc.ts";
import { runSliced, runWhole } from "../runtime/sliced-work.ts";
import { decodeCommand, decodeCommandSlices, decodedCopy, encodeCommand, encodeCommandSlices, isWideCommand, localCopy, localStandIn } from "./command-codec.ts";
import type { Socket } from "node:net";

// Consensus over the Raft node driver: commands travel as msgpack entry data (Buffers and
// bigints included), the FSM applies them on every server in log order, snapshots are the
// whole StateStore. Servers are named by their node id (a UUID); Raft needs numbers, so each
// node id maps to a stable 52-bit Raft id (raftIdFromNodeId) every server computes alike.

/** A server as Raft knows it. */
export interface RaftPeer {
  /** The server's node id (UUID). */
  id: string;
  /** Its server RPC address, "ip:port" (what /v1/status/leader shows and the RPC layer dials). */
  address: string;
  /** Its Raft transport address, "ip:port". */
  raftAddress: string;
}

/** The leader's view of one server's replication (RaftConsensus.progress()). */
export interface RaftPeerProgress {
  /** Highest log index known to be stored on that server. */
  matchIndex: number;
  /**
   * Milliseconds since the leader last heard from it: 0 while it answered within the current
   * check-quorum window (one election timeout); otherwise the time since the leader last saw
   * it active, less one heartbeat interval (the earliest a healthy peer answers again).
   */
  lastContactMs: number;
  voter: boolean;
}

/** A write or consistent read reached a server that does not lead. The RPC layer forwards on it. */
export class NotLeaderError extends Error {
  readonly code = "not-leader";
  /** Node id of the known leader, "" when none is known. */
  readonly leaderId: string;
  /** Server RPC "ip:port" of the known leader, "" when none is known (or its address is not known yet). */
  readonly leaderAddress: string;
  constructor(leaderId: string, leaderAddress: string) {
    super(leaderAddress === "" ? "No cluster leader" : `not the leader (leader is ${leaderAddress})`);
    this.name = "NotLeaderError";
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
  }
}

export function isNotLeaderError(err: unknown): err is NotLeaderError {
  return err instanceof NotLeaderError;
}

export interface RaftConsensusOptions {
  nodeId: string;
  /** This server's RPC address "ip:port". */
  serverAddress: string;
  /** Where the Raft transport listens; port 0 picks a free one (see raftAddress()). Absent: no listener (lone in-memory voter). */
  raftBind?: { host: string; port: number };
  /** The host other servers reach the Raft listener at, when raftBind.host is a wildcard. */
  raftAdvertiseHost?: string;
  /**
   * Raft rides on the server RPC port (what Consul does): no listener of its own, the RPC
   * server hands connections that start with RAFT_PROTOCOL_BYTE to acceptConnection(), and a
   * peer's Raft address is its server RPC address. Takes precedence over raftBind.
   */
  overServerPort?: boolean;
  /** With overServerPort: how peers are dialled (TLS when internal RPC verifies outgoing). */
  dial?: ServerPortDialer;
  /**
   * `{ kind: "memory" }` for -dev; otherwise the directory holding the log and snapshots.
   * recoverTruncatedLog: start although committed entries are missing from the log on disk.
   */
  storage: { kind: "memory" } | { kind: "disk"; dir: string; recoverTruncatedLog?: boolean };
  fsm: StateMachine;
  /** Other servers known up front (static configuration); more arrive through addPeer/setPeerAddress. */
  peers: readonly RaftPeer[];
  /**
   * Bootstrap a brand-new cluster made of this server and `peers` (ignored when the storage
   * already holds a log). Every initial server must bootstrap with the same set.
   */
  bootstrap: boolean;
  /** Campaign at once instead of waiting out an election timeout (a lone bootstrap server, -dev). */
  selfElect: boolean;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  snapshots: RaftSnapshotPolicy;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
  /** Where Consul's consul.raft.* series go; none recorded without it. */
  metrics?: Metrics;
}

export const defaultRaftConsensusTiming = { tickMs: 100, electionTick: 10, heartbeatTick: 1 } as const;

export { decodeCommand, encodeCommand } from "./command-codec.ts";

/**
 * Entries at least this large are decoded, and their apply prepared, in slices that yield to
 * the event loop before their turn to apply, on every server (issue 12 item 6: at the 512 KiB
 * body cap, decode and apply together held the loop for tens of ms). One rule for every
 * server, so each reads a given entry the same way.
 */
export const PREDECODE_MIN_BYTES = 64 * 1024;

/** A byte msgpack never writes: a lone voter's entry that stands for a command it did not encode. */
const NEVER_USED_MSGPACK_BYTE = 0xc1;

/** Decodes entry bytes: large ones through the sliced reader (run whole here), as prepare does. */
function decodeEntry(data: Uint8Array): Command {
  return data.byteLength >= PREDECODE_MIN_BYTES ? runWhole(decodeCommandSlices(data)) : decodeCommand(data);
}

/**
 * The Raft host's prepare/apply pair for the FSM. A large entry is decoded and prepared in
 * slices (RaftNode calls prepare, awaits it, then apply for the same entry, applying nothing
 * else in between); everything else is decoded and applied in apply's turn.
 */
class EntryApplier {
  readonly #fsm: StateMachine;
  /** The one entry prepared ahead, waiting for its apply. */
  #ready: { data: Uint8Array; cmd: Command; prepared: PreparedApply | undefined } | undefined;
  /**
   * A lone voter's proposals (-dev) by their entry bytes: no follower decodes those bytes and
   * no log is replayed, so what applies is a copy of the proposed command when it equals what
   * decoding the bytes would give (localCopy, decodedCopy), instead of a msgpack decode per
   * write — and usually the bytes were never written (localEntry).
   */
  readonly #proposed: WeakMap<Uint8Array, Command> | undefined;

  constructor(fsm: StateMachine, loneVoter: boolean) {
    this.#fsm = fsm;
    this.#proposed = loneVoter ? new WeakMap() : undefined;
  }

  /**
   * Lone voter only: the entry for `cmd` without encoding it (msgpack was ~5 µs of a catalog
   * registration) — one byte that no decoder accepts (0xc1, msgpack's "never used"), under
   * which a copy equal to the decoded command waits for apply — or undefined when no copy can
   * stand for it (localCopy), and the command is encoded as everywhere else. A command handed
   * over (ProposeOptions) stands for itself under the same rules, uncopied (localStandIn).
   */
  localEntry(cmd: Command, handedOver: boolean): Uint8Array | undefined {
    if (!this.#proposed) return undefined;
    const copy = handedOver ? localStandIn(cmd, PREDECODE_MIN_BYTES) : localCopy(cmd, PREDECODE_MIN_BYTES);
    if (copy === undefined) return undefined;
    const marker = Uint8Array.of(NEVER_USED_MSGPACK_BYTE);
    this.#proposed.set(marker, copy);
    return marker;
  }

  /** Remembers the value of the entry bytes `data` as a copy of `cmd`, when one can stand for it (lone voter only). */
  proposing(cmd: Command, data: Uint8Array): void {
    if (!this.#proposed) return;
    const copy = decodedCopy(cmd, data);
    if (copy !== undefined) this.#proposed.set(data, copy);
  }

  prepare(entry: Entry): Promise<void> | undefined {
    if (entry.data.byteLength < PREDECODE_MIN_BYTES) return undefined;
    return this.#prepareSliced(entry);
  }

  async #prepareSliced(entry: Entry): Promise<void> {
    this.#ready = undefined;
    let cmd: Command;
    try {
      cmd = await runSliced(decodeCommandSlices(entry.data));
    } catch {
      // apply decodes again and reports it.
      return;
    }
    let prepared: PreparedApply | undefined;
    try {
      prepared = await runSliced(this.#fsm.prepare(entry.index, cmd));
    } catch {
      prepared = undefined;
    }
    this.#ready = { data: entry.data, cmd, prepared };
  }

  apply(entry: Entry): ApplyResult {
    const ready = this.#ready;
    this.#ready = undefined;
    if (ready !== undefined && ready.data === entry.data) return this.#fsm.apply(entry.index, ready.cmd, ready.prepared);
    const proposed = this.#proposed?.get(entry.data);
    if (proposed !== undefined) {
      this.#proposed?.delete(entry.data);
      return this.#fsm.apply(entry.index, proposed);
    }
    return this.#fsm.apply(entry.index, decodeEntry(entry.data));
  }
}

/**
 * The sliced encoding of `cmd`, as a function made outside propose: a closure made inside it
 * would put `cmd` in the context every closure of propose shares, and those waiting for the
 * apply's result would keep the proposer's copy of a wide command (thousands of checks)
 * alive through the Raft round and its apply, surviving every scavenge meanwhile (issue 12
 * item 6). This one is dropped once the bytes are written.
 */
function encoderOf(cmd: Command): () => Promise<Uint8Array> {
  return () => runSliced(encodeCommandSlices(cmd));
}

/** A stable non-zero Raft id for a node id: the first 52 bits of its hex digits (or a hash of other text). */
export function raftIdFromNodeId(nodeId: string): number {
  const hex = nodeId.toLowerCase().replace(/[^0-9a-f]/g, "");
  let id = hex.length >= 13 ? parseInt(hex.slice(0, 13), 16) : 0;
  if (id === 0) {
    // Not a UUID: FNV-1a over the text, widened to 52 bits.
    let h = 0xcbf29ce484222325n;
    for (const b of new TextEncoder().encode(nodeId)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xfffffffffffffn;
    id = Number(h);
  }
  return id === 0 ? 1 : id;
}

/** Opens the log on disk; recovery says at WARN what it cut or accepted losing. */
async function openDiskStorage(where: { dir: string; recoverTruncatedLog?: boolean }, clock: Clock, logger: Logger | undefined): Promise<DiskStorage> {
  const storage = await DiskStorage.open(where.dir, { clock, logger, recoverTruncatedLog: where.recoverTruncatedLog === true });
  const { missingCommitted } = storage.recovery;
  if (missingCommitted) {
    logger?.warn("Starting with acknowledged entries missing from the Raft log (-recover-truncated-log)", {
      commit: missingCommitted.commit,
      last_index: missingCommitted.lastIndex,
      missing: missingCommitted.commit - missingCommitted.lastIndex,
    });
  }
  return storage;
}

function parseHostPort(address: string): PeerAddress {
  const at = address.lastIndexOf(":");
  if (at <= 0) throw new Error(`raft: address ${JSON.stringify(address)} is not host:port`);
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(at + 1)) };
}

export class RaftConsensus implements Consensus {
  readonly nodeId: string;
  readonly raftId: number;
  readonly #node: RaftNode;
  readonly #applier: EntryApplier;
  readonly #fsm: StateMachine;
  readonly #serverAddress: string;
  readonly #directory: Map<number, RaftPeer>;
  readonly #leadershipListeners = new Set<(isLeader: boolean) => void>();
  readonly #readTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #metrics: RaftMetrics | undefined;
  /** Settles when the last wide proposal still being encoded has gone to Raft. */
  #queueAhead: Promise<void> | undefined;
  #wasLeader = false;
  readonly #raftHost: string;
  readonly #overServerPort: boolean;
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #electionMs: number;

  private constructor(node: RaftNode, options: RaftConsensusOptions, directory: Map<number, RaftPeer>, metrics: RaftMetrics | undefined, applier: EntryApplier) {
    this.#node = node;
    this.#applier = applier;
    this.#metrics = metrics;
    this.nodeId = options.nodeId;
    this.raftId = raftIdFromNodeId(options.nodeId);
    this.#fsm = options.fsm;
    this.#serverAddress = options.serverAddress;
    this.#directory = directory;
    this.#readTimeoutMs = Math.max(1000, options.tickMs * options.electionTick * 2);
    this.#logger = options.logger;
    this.#raftHost = options.raftAdvertiseHost ?? options.raftBind?.host ?? "";
    this.#overServerPort = options.overServerPort === true;
    this.#clock = options.clock;
    this.#tickMs = options.tickMs;
    this.#electionMs = options.tickMs * options.electionTick;
  }

  static async start(partial: Pick<RaftConsensusOptions, "nodeId" | "serverAddress" | "storage" | "fsm"> & Partial<RaftConsensusOptions>): Promise<RaftConsensus> {
    const o: RaftConsensusOptions = {
      peers: [],
      bootstrap: false,
      selfElect: false,
      snapshots: { threshold: 0, trailingLogs: 0 },
      clock: systemClock,
      rng: systemRng,
      ...defaultRaftConsensusTiming,
      ...partial,
    };
    const selfId = raftIdFromNodeId(o.nodeId);
    const directory = new Map<number, RaftPeer>();
    const members = new Map<number, PeerAddress>();
    if (o.raftBind) members.set(selfId, o.raftBind);
    for (const p of o.peers) {
      const id = raftIdFromNodeId(p.id);
      if (id === selfId) continue;
      directory.set(id, p);
      members.set(id, parseHostPort(p.raftAddress));
    }
    const storage: RaftHostStorage = o.storage.kind === "memory" ? new InMemoryRaftStorage() : await openDiskStorage(o.storage, o.clock, o.logger);
    const fsm = o.fsm;
    // Leadership changes are reported from the driver, which exists before its consensus.
    const bound: { consensus?: RaftConsensus } = {};
    const metrics = o.metrics ? new RaftMetrics(o.metrics, o.clock) : undefined;
    // A lone voter in memory talks to nobody and reloads nothing (-dev).
    const loneVoter = o.storage.kind === "memory" && o.raftBind === undefined && o.overServerPort !== true;
    const applier = new EntryApplier(fsm, loneVoter);
    const applyCommand = (entry: Entry): ApplyResult => applier.apply(entry);
    const node = await RaftNode.start({
      id: selfId,
      storage,
      members,
      listen: o.raftBind !== undefined || o.overServerPort === true,
      handover: o.overServerPort === true ? { preamble: Uint8Array.of(RAFT_PROTOCOL_BYTE), dial: o.dial } : undefined,
      bootstrapVoters: o.bootstrap ? [selfId, ...directory.keys()] : undefined,
      stateMachine: {
        apply: metrics
          ? (entry: Entry): ApplyResult => {
              const started = metrics.now();
              const result = applyCommand(entry);
              metrics.fsmApplied(started);
              return result;
            }
          : applyCommand,
        prepare: (entry) => applier.prepare(entry),
        capture: () => serializeState(fsm.state),
        captureSliced: () => runSliced(serializeStateSlices(fsm.state)),
        restore: (data) => restoreState(fsm.state, data),
        restoreSliced: async (data) => restorePrepared(fsm.state, await runSliced(prepareRestore(data))),
      },
      // Its snapshots only compact the log.
      snapshots: loneVoter ? { ...o.snapshots, captureState: false } : o.snapshots,
      onSoftState: (ss) => {
        metrics?.roleChanged(ss.raftState);
        if (bound.consensus) bound.consensus.#softStateChanged(ss);
      },
      onLogWritten: metrics ? (ms, leading) => metrics.logWritten(ms, leading) : undefined,
      onSnapshotInstalled: ({ index, term, bytes, durationMs }) => {
        metrics?.snapshotInstalled(durationMs);
        o.logger?.info("Installed remote snapshot", { index, term, bytes, duration_ms: Math.round(durationMs) });
      },
      tickMs: o.tickMs,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      clock: o.clock,
      rng: o.rng,
    });
    const consensus = new RaftConsensus(node, o, directory, metrics, applier);
    bound.consensus = consensus;
    directory.set(selfId, { id: o.nodeId, address: o.serverAddress, raftAddress: consensus.raftAddress() });
    if (o.selfElect) await consensus.#electSelf();
    return consensus;
  }

  // ---- Consensus ----

  propose(cmd: Command, options?: ProposeOptions): Promise<{ index: number; result: ApplyResult }> {
    let applied: Promise<{ index: number; result: ApplyResult }>;
    if (isWideCommand(cmd)) {
      applied = this.#proposeInOrder(encoderOf(cmd));
    } else {
      let data = this.#applier.localEntry(cmd, options?.handedOver === true);
      if (data === undefined) {
        try {
          data = encodeCommand(cmd);
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        this.#applier.proposing(cmd, data);
      }
      // No async wrapper on the usual path: every extra await on the write path is another
      // promise and microtask.
      applied = this.#queueAhead === undefined ? (this.#node.propose(data) as Promise<{ index: number; result: ApplyResult }>) : this.#proposeInOrder(() => Promise.resolve(data));
    }
    const metrics = this.#metrics;
    if (!metrics) {
      return applied.catch((err: unknown) => {
        throw this.#translate(err);
      });
    }
    const proposedAt = metrics.proposed();
    return applied.then(
      (outcome) => {
        metrics.committed(proposedAt);
        return outcome;
      },
      (err: unknown) => {
        throw this.#translate(err);
      },
    );
  }

  /**
   * Hands the encoded command to Raft after every proposal still being encoded ahead of it: a
   * wide command is encoded in slices over several turns, and proposals made meanwhile queue
   * behind it, so entries keep the order they were proposed in. Applied's result is what the
   * state machine's apply returned: an ApplyResult.
   */
  #proposeInOrder(encode: () => Promise<Uint8Array>): Promise<{ index: number; result: ApplyResult }> {
    const ahead = this.#queueAhead ?? Promise.resolve();
    const proposed = ahead.then(async () => {
      const data = await encode();
      return { applied: this.#node.propose(data) as Promise<{ index: number; result: ApplyResult }> };
    });
    const settled = proposed.then(
      () => undefined,
      () => undefined,
    );
    this.#queueAhead = settled;
    void settled.then(() => {
      if (this.#queueAhead === settled) this.#queueAhead = undefined;
    });
    return proposed.then((p) => p.applied);
  }

  /**
   * Leads, and a quorum answered within the leader lease (checked now, on the monotonic clock).
   * A leader past its lease (paused, cut off) answers false until a quorum answers again or a
   * newer term demotes it: requests wait for a leader rather than read its possibly stale state.
   */
  isLeader(): boolean {
    return this.#node.leaseValid();
  }

  /**
   * The leader's address; "" while none is known, including while this server's lease is out
   * and while, after a step-down or a pause, it has not yet confirmed its state is current:
   * what it serves then must not look as if a known leader vouched for it.
   */
  leaderAddress(): string {
    const lead = this.#node.leader();
    if (lead === NONE) return "";
    if (lead === this.raftId) return this.#node.leaseValid() ? this.#serverAddress : "";
    if (!this.#node.stateConfirmed()) return "";
    return this.#directory.get(lead)?.address ?? "";
  }

  /** The current Raft term. */
  term(): number {
    return this.#node.term();
  }

  logStatus(): RaftLogStatus {
    return this.#node.logStatus();
  }

  /** Node id of the leader, "" when none is known. */
  leaderId(): string {
    const lead = this.#node.leader();
    return lead === NONE ? "" : (this.#directory.get(lead)?.id ?? "");
  }

  lastContactMs(): number {
    const ms = this.#node.lastContactMs();
    return ms < 0 ? 0 : ms;
  }

  /** Server RPC addresses of the voters, as /v1/status/peers lists them. */
  peers(): string[] {
    const out: string[] = [];
    for (const id of this.#node.confState().voters) {
      const peer = id === this.raftId ? { address: this.#serverAddress } : this.#directory.get(id);
      if (peer && peer.address !== "") out.push(peer.address);
    }
    return out.sort();
  }

  appliedIndex(): number {
    return this.#node.appliedIndex();
  }

  async readBarrier(): Promise<void> {
    try {
      await this.#node.readIndex(this.#readTimeoutMs);
    } catch (err) {
      throw this.#translate(err);
    }
  }

  onLeadershipChange(cb: (isLeader: boolean) => void): () => void {
    this.#leadershipListeners.add(cb);
    return () => this.#leadershipListeners.delete(cb);
  }

  // ---- cluster membership (for gossip / autopilot / operator) ----

  /** This server's Raft transport "ip:port" ("" without a listener). */
  raftAddress(): string {
    if (this.#overServerPort) return this.#serverAddress;
    const port = this.#node.port;
    return port === 0 ? "" : `${this.#raftHost}:${port}`;
  }

  /** Hands over an inbound Raft connection taken by the server RPC listener (overServerPort). */
  acceptConnection(socket: Socket, head: Buffer): void {
    this.#node.acceptConnection(socket, head);
  }

  /** True while this server never took part in a cluster (no log, no term, no snapshot). */
  isFresh(): boolean {
    return this.#node.isFresh();
  }

  /**
   * bootstrap_expect reached: starts a brand-new cluster whose voters are `servers` (this one
   * included) when this server is still fresh. Every initial server passes the same set and
   * the log entries are ordered by Raft id, so all of them write the identical first entries.
   * Resolves false when this server already holds state.
   */
  async bootstrapIfFresh(servers: readonly RaftPeer[]): Promise<boolean> {
    for (const peer of servers) this.setPeerAddress(peer);
    const ids = servers.map((p) => raftIdFromNodeId(p.id));
    if (!ids.includes(this.raftId)) ids.push(this.raftId);
    const done = await this.#node.bootstrapIfFresh(ids);
    if (done) this.#logger?.info("bootstrapped a new cluster", { voters: servers.map((p) => p.address).sort().join(",") });
    return done;
  }

  /** Whether the server with this node id is a voter or learner in the applied configuration. */
  hasMember(nodeId: string): boolean {
    const id = raftIdFromNodeId(nodeId);
    const cs = this.#node.confState();
    return cs.voters.includes(id) || cs.learners.includes(id);
  }

  /** Node id of the voter or learner known at server address `address`, "" when none is. */
  memberAt(address: string): string {
    const cs = this.#node.confState();
    for (const id of [...cs.voters, ...cs.learners]) {
      const peer = id === this.raftId ? { id: this.nodeId, address: this.#serverAddress } : this.#directory.get(id);
      if (peer && peer.address === address) return peer.id;
    }
    return "";
  }

  /** Voters and learners in the applied configuration, with what is known of their addresses. */
  configuration(): { voters: RaftPeer[]; learners: RaftPeer[] } {
    const cs = this.#node.confState();
    const describe = (id: number): RaftPeer => this.#directory.get(id) ?? { id: "", address: "", raftAddress: "" };
    return { voters: cs.voters.map(describe), learners: cs.learners.map(describe) };
  }

  /** Records (or updates) where a server is reachable. Does not change membership. */
  setPeerAddress(peer: RaftPeer): void {
    const id = raftIdFromNodeId(peer.id);
    if (id === this.raftId) return;
    this.#directory.set(id, { ...peer });
    if (peer.raftAddress !== "") this.#node.setPeerAddress(id, parseHostPort(peer.raftAddress));
  }

  /**
   * Leader only: makes `peer` a member (voter by default). Resolves once the change is applied
   * here; rejects with NotLeaderError elsewhere. A member already in the configuration is a no-op.
   */
  async addPeer(peer: RaftPeer, options: { voter: boolean } = { voter: true }): Promise<void> {
    this.setPeerAddress(peer);
    const id = raftIdFromNodeId(peer.id);
    const cs = this.#node.confState();
    if ((options.voter ? cs.voters : cs.learners).includes(id)) return;
    try {
      await this.#node.proposeConfChange({ type: options.voter ? ConfChangeType.AddNode : ConfChangeType.AddLearnerNode, nodeId: id });
    } catch (err) {
      throw this.#translate(err);
    }
  }

  /** Leader only: removes a server from the configuration (operator remove-peer, autopilot cleanup). */
  async removePeer(nodeId: string): Promise<void> {
    const id = raftIdFromNodeId(nodeId);
    const cs = this.#node.confState();
    if (!cs.voters.includes(id) && !cs.learners.includes(id)) return;
    try {
      await this.#node.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id });
    } catch (err) {
      throw this.#translate(err);
    }
    if (id !== this.raftId) this.#node.removePeerAddress(id);
  }

  /**
   * Leader only: hands leadership to the voter with this node id and resolves once it leads
   * (the core first lets it catch up). Rejects when it does not take over within two election
   * timeouts, with NotLeaderError when this server does not lead.
   */
  async transferLeader(nodeId: string): Promise<void> {
    const id = raftIdFromNodeId(nodeId);
    if (!this.#node.isLeader()) throw this.#translate(new RaftNotLeaderError(this.#node.leader()));
    if (id === this.raftId) throw new Error("cannot transfer leadership to itself");
    if (!this.#node.confState().voters.includes(id)) throw new Error(`id "${nodeId}" is not a voter in the Raft configuration`);
    this.#node.transferLeader(id);
    const deadline = this.#clock.monotonicMs() + 2 * this.#electionMs + 1000;
    while (this.#node.leader() !== id) {
      if (this.#clock.monotonicMs() > deadline) throw new Error(`leadership transfer to ${nodeId} timed out`);
      await new Promise<void>((resolve) => this.#clock.setTimer(Math.min(20, this.#tickMs), resolve));
    }
  }

  /**
   * Leader only: replication progress of every member by node id (this server included, with
   * its own last index). Empty on followers, which do not track others.
   */
  progress(): Map<string, RaftPeerProgress> {
    const out = new Map<string, RaftPeerProgress>();
    for (const [id, pr] of this.#node.progress()) {
      const nodeId = id === this.raftId ? this.nodeId : this.#directory.get(id)?.id;
      if (nodeId === undefined || nodeId === "") continue;
      out.set(nodeId, { matchIndex: pr.match, lastContactMs: pr.lastContactMs, voter: !pr.isLearner });
    }
    return out;
  }

  async close(): Promise<void> {
    this.#leadershipListeners.clear();
    await this.#node.close();
  }

  /** For tests and operator output: the underlying driver. */
  get node(): RaftNode {
    return this.#node;
  }

  // ---- internals ----

  async #electSelf(): Promise<void> {
    const cs = this.#node.confState();
    // Only a lone voter can win at once; in a larger configuration the timers decide.
    if (cs.voters.length !== 1 || cs.voters[0] !== this.raftId) return;
    this.#node.campaign();
    await this.#node.idle();
  }

  #softStateChanged(ss: SoftState): void {
    const leading = ss.raftState === StateType.Leader;
    if (leading !== this.#wasLeader) {
      this.#wasLeader = leading;
      this.#logger?.info(leading ? "cluster leadership acquired" : "cluster leadership lost", { term: this.#node.term() });
      for (const cb of [...this.#leadershipListeners]) {
        try {
          cb(leading);
        } catch (err) {
          this.#logger?.error("leadership listener failed", { error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }

  #translate(err: unknown): unknown {
    if (err instanceof RaftNotLeaderError) {
      const lead = err.leader === NONE ? this.#node.leader() : err.leader;
      if (lead === NONE || lead === this.raftId) return new NotLeaderError("", "");
      const peer = this.#directory.get(lead);
      return new NotLeaderError(peer?.id ?? "", peer?.address ?? "");
    }
    return err;
  }
}
