import type { Entry, Message } from "../raft/messages.ts";
import { EntryType } from "../raft/messages.ts";
import { decodeConfChange } from "../raft/confchange.ts";
import type { RaftConfig } from "../raft/raft.ts";
import { StateType } from "../raft/raft.ts";
import { RawNode } from "../raft/raw-node.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { systemClock } from "../runtime/clock.ts";
import type { Rng } from "../runtime/rng.ts";
import { systemRng } from "../runtime/rng.ts";
import type { DiskStorage } from "../storage/disk-storage.ts";
import type { PeerAddress } from "../transport/raft-transport.ts";
import { RaftTransport } from "../transport/raft-transport.ts";

// Drives one RawNode with real time, disk and network: ticks on a timer, steps what the
// transport delivers, and carries out each Ready in the order its type documents — persist
// (one fsync for the whole batch), send, apply, advance. Proposals and messages that arrive
// while a Ready is being persisted are stepped at once and land in the next Ready, so under
// load one fsync covers many proposals (group commit).

export interface RaftNodeOptions {
  id: number;
  storage: DiskStorage;
  /** Every voter's Raft transport address, this node's own included (it is where we listen). */
  members: ReadonlyMap<number, PeerAddress>;
  /** Called for each committed normal entry, in log order. */
  apply: (entry: Entry) => void;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  clock: Clock;
  rng: Rng;
  /** Extra core settings (flow control, pre-vote…). */
  raft: Partial<Omit<RaftConfig, "id" | "storage" | "rng" | "electionTick" | "heartbeatTick">>;
}

export const defaultRaftNodeOptions = {
  tickMs: 100,
  electionTick: 10,
  heartbeatTick: 1,
} as const;

export class NotLeaderError extends Error {
  readonly code = "not-leader";
  readonly leader: number;
  constructor(leader: number) {
    super(leader === 0 ? "raft: no known leader" : `raft: not the leader (leader is ${leader})`);
    this.name = "NotLeaderError";
    this.leader = leader;
  }
}

interface PendingProposal {
  term: number;
  resolve: (index: number) => void;
  reject: (err: Error) => void;
}

export class RaftNode {
  readonly id: number;
  readonly #node: RawNode;
  readonly #storage: DiskStorage;
  readonly #transport: RaftTransport;
  readonly #apply: (entry: Entry) => void;
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #pending = new Map<number, PendingProposal>();
  #ticker: TimerHandle | undefined;
  #running = false;
  #closed = false;
  #failure: unknown = undefined;

  private constructor(id: number, node: RawNode, storage: DiskStorage, transport: RaftTransport, options: RaftNodeOptions) {
    this.id = id;
    this.#node = node;
    this.#storage = storage;
    this.#transport = transport;
    this.#apply = options.apply;
    this.#clock = options.clock;
    this.#tickMs = options.tickMs;
  }

  static async start(options: Pick<RaftNodeOptions, "id" | "storage" | "members" | "apply"> & Partial<RaftNodeOptions>): Promise<RaftNode> {
    const o: RaftNodeOptions = { clock: systemClock, rng: systemRng, raft: {}, ...defaultRaftNodeOptions, ...options };
    const self = o.members.get(o.id);
    if (!self) throw new Error(`raft node: members do not include this node (${o.id})`);
    const node = new RawNode({
      preVote: true,
      checkQuorum: true,
      ...o.raft,
      id: o.id,
      storage: o.storage,
      rng: o.rng,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      applied: o.raft.applied ?? o.storage.snapshot().metadata.index,
    });
    // The transport exists before the driver it feeds; these forwarders are bound right after.
    const hooks = {
      message: (_m: Message): void => {},
      unreachable: (_peer: number): void => {},
      snapshotStatus: (_peer: number, _failed: boolean): void => {},
    };
    const transport = await RaftTransport.listen({
      id: o.id,
      host: self.host,
      port: self.port,
      clock: o.clock,
      rng: o.rng,
      peers: new Map([...o.members].filter(([id]) => id !== o.id)),
      onMessage: (m) => hooks.message(m),
      onUnreachable: (peer) => hooks.unreachable(peer),
      onSnapshotStatus: (peer, failed) => hooks.snapshotStatus(peer, failed),
    });
    const driver = new RaftNode(o.id, node, o.storage, transport, o);
    hooks.message = (m) => driver.#step(m);
    hooks.unreachable = (peer) => driver.#node.reportUnreachable(peer);
    hooks.snapshotStatus = (peer, failed) => driver.#node.reportSnapshot(peer, failed);
    driver.#scheduleTick();
    return driver;
  }

  get port(): number {
    return this.#transport.port;
  }

  get transportStats(): RaftTransport["stats"] {
    return this.#transport.stats;
  }

  /** Log fsyncs this node's storage has issued so far. */
  storageFsyncs(): number {
    return this.#storage.walStats.fsyncs;
  }

  isLeader(): boolean {
    return this.#node.raft.state === StateType.Leader;
  }

  leader(): number {
    return this.#node.raft.lead;
  }

  /** Starts an election now instead of waiting for the election timeout. */
  campaign(): void {
    this.#node.campaign();
    this.#kick();
  }

  /** Resolves with the entry's index once it is committed and applied here (leader only). */
  propose(data: Uint8Array): Promise<number> {
    if (this.#failure !== undefined) return Promise.reject(new Error("raft node: storage failed", { cause: this.#failure }));
    if (!this.isLeader()) return Promise.reject(new NotLeaderError(this.leader()));
    const err = this.#node.propose(data);
    if (err !== undefined) return Promise.reject(new Error(err));
    const index = this.#node.raft.raftLog.lastIndex();
    const term = this.#node.raft.term;
    const promise = new Promise<number>((resolve, reject) => this.#pending.set(index, { term, resolve, reject }));
    this.#kick();
    return promise;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ticker?.cancel();
    await this.#transport.close();
    while (this.#running) await new Promise((r) => setImmediate(r));
    this.#failPending(new Error("raft node: closed"));
    await this.#storage.close();
  }

  /** Proposals whose outcome this node can no longer learn (it stopped leading, or closed). */
  #failPending(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #scheduleTick(): void {
    this.#ticker = this.#clock.setTimer(this.#tickMs, () => {
      if (this.#closed) return;
      this.#node.tick();
      this.#kick();
      this.#scheduleTick();
    });
  }

  #step(m: Message): void {
    if (this.#closed) return;
    this.#node.step(m);
    this.#kick();
  }

  #kick(): void {
    if (this.#running || this.#closed || this.#failure !== undefined) return;
    this.#running = true;
    this.#drain().then(
      () => {
        this.#running = false;
      },
      (err: unknown) => {
        // A failed fsync leaves the disk state unknown: stop taking part rather than guess.
        this.#running = false;
        this.#failure = err;
        for (const p of this.#pending.values()) p.reject(new Error("raft node: storage failed", { cause: err }));
        this.#pending.clear();
      },
    );
  }

  async #drain(): Promise<void> {
    while (!this.#closed && this.#node.hasReady()) {
      const rd = this.#node.ready();
      await this.#storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, mustSync: rd.mustSync });
      if (this.#closed) return;
      this.#transport.send(rd.messages);
      for (const entry of rd.committedEntries) this.#applyEntry(entry);
      if (rd.softState && rd.softState.raftState !== StateType.Leader) this.#failPending(new NotLeaderError(rd.softState.lead));
      this.#node.advance();
    }
  }

  #applyEntry(entry: Entry): void {
    if (entry.type === EntryType.ConfChange) {
      this.#node.applyConfChange(decodeConfChange(entry.data));
    } else if (entry.data.byteLength > 0) {
      this.#apply(entry);
    }
    const pending = this.#pending.get(entry.index);
    if (!pending) return;
    this.#pending.delete(entry.index);
    if (pending.term === entry.term) pending.resolve(entry.index);
    else pending.reject(new Error(`raft: proposal at index ${entry.index} was superseded by term ${entry.term}`));
  }
}
