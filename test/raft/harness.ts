// A synchronous in-memory cluster of RawNodes for unit and interaction tests: it carries
// out each Ready in the documented order (persist, send, apply, advance) and can drop links.
import { seededRng } from "../../src/runtime/rng.ts";
import { decodeConfChange } from "../../src/raft/confchange.ts";
import type { ConfState, Entry, Message } from "../../src/raft/messages.ts";
import { EntryType, MessageType } from "../../src/raft/messages.ts";
import type { RaftConfig } from "../../src/raft/raft.ts";
import { StateType } from "../../src/raft/raft.ts";
import { RawNode } from "../../src/raft/raw-node.ts";
import type { ReadState } from "../../src/raft/read-only.ts";
import { MemoryStorage } from "../../src/raft/storage.ts";
import { describeEntry, describeMessage } from "./describe.ts";

export type NodeOptions = Partial<Omit<RaftConfig, "id" | "storage" | "rng">>;

export interface TestNode {
  raw: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

export function newStorage(voters: number[], learners: number[] = []): MemoryStorage {
  const s = new MemoryStorage();
  // Bootstrap as a host would: a snapshot at index 1 naming the initial members.
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters, learners } } });
  s.setHardState({ term: 1, vote: 0, commit: 1 });
  return s;
}

export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  /** Directed links that lose every message ("a>b"). */
  readonly cut = new Set<string>();
  readonly trace: string[] = [];
  traceEnabled = false;
  private readonly options: NodeOptions;

  constructor(voters: number[], options: NodeOptions = {}, learners: number[] = []) {
    this.options = options;
    for (const id of [...voters, ...learners]) this.addNode(id, newStorage(voters, learners));
  }

  addNode(id: number, storage: MemoryStorage = new MemoryStorage(), applied = 0): TestNode {
    const raw = new RawNode({
      id,
      storage,
      rng: seededRng(id),
      electionTick: 10,
      heartbeatTick: 1,
      applied: applied || storage.snapshot().metadata.index,
      ...this.options,
    });
    const node: TestNode = { raw, storage, applied: [], readStates: [] };
    this.nodes.set(id, node);
    return node;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private log(line: string): void {
    if (this.traceEnabled) this.trace.push(line);
  }

  /** Carries out one Ready of node id, returning the messages it sends. */
  processReady(id: number): Message[] {
    const n = this.node(id);
    if (!n.raw.hasReady()) return [];
    const rd = n.raw.ready();
    if (rd.softState) this.log(`  ${id}: became ${rd.softState.raftState.replace("State", "")} (lead ${rd.softState.lead}) term ${n.raw.raft.term}`);
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      this.log(`  ${id}: apply ${describeEntry(e)}`);
      n.applied.push(e);
      if (e.type === EntryType.ConfChange) {
        const cs = n.raw.applyConfChange(decodeConfChange(e.data));
        // A snapshot naming the new member lets the leader bring it up to date (a member
        // refuses a snapshot whose configuration does not include it).
        if (e.index > n.storage.snapshot().metadata.index) n.storage.createSnapshot(e.index, cs, new Uint8Array(0));
      }
    }
    n.readStates.push(...rd.readStates);
    n.raw.advance();
    return rd.messages;
  }

  /** Delivers messages, and everything they cause, until the cluster is quiet. */
  stabilize(maxRounds = 1000): void {
    let pending: Message[] = [];
    for (let round = 0; round < maxRounds; round++) {
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) pending.push(...this.processReady(id));
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      for (const m of batch) this.deliver(m);
    }
    throw new Error("cluster did not stabilize");
  }

  deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    const lost = !to || this.cut.has(`${m.from}>${m.to}`);
    // The transport reports how a snapshot fared, as etcd's ReportSnapshot.
    if (m.type === MessageType.Snap) this.nodes.get(m.from)?.raw.reportSnapshot(m.to, lost);
    if (!to || lost) {
      this.log(`  dropped ${describeMessage(m)}`);
      return;
    }
    this.log(`  ${describeMessage(m)}`);
    to.raw.step({ ...m, entries: m.entries.slice() });
  }

  /** Cuts every link to and from id. */
  isolate(id: number): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  tick(id: number, n: number): void {
    for (let i = 0; i < n; i++) this.node(id).raw.tick();
  }

  /** Ticks every node until someone is leader, delivering messages as it goes. */
  elect(id: number): void {
    this.node(id).raw.campaign();
    this.stabilize();
    if (this.node(id).raw.raft.state !== StateType.Leader) throw new Error(`node ${id} did not win the election`);
  }

  leaders(): number[] {
    return [...this.nodes.entries()].filter(([, n]) => n.raw.raft.state === StateType.Leader).map(([id]) => id);
  }

  propose(id: number, data: string): void {
    const err = this.node(id).raw.propose(new TextEncoder().encode(data));
    if (err) throw new Error(`propose on ${id}: ${err}`);
  }

  appliedData(id: number): string[] {
    const dec = new TextDecoder();
    return this.node(id).applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0).map((e) => dec.decode(e.data));
  }

  confState(id: number): ConfState {
    return this.node(id).raw.raft.confState();
  }
}
