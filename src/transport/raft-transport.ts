import { createServer } from "node:net";
import { plainDialer, type ServerPortDialer } from "./server-port-tls.ts";
import type { Server, Socket } from "node:net";
import type { Message, Snapshot } from "../raft/messages.ts";
import { MessageType } from "../raft/messages.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { systemClock } from "../runtime/clock.ts";
import type { Rng } from "../runtime/rng.ts";
import { systemRng } from "../runtime/rng.ts";
import { FrameSplitter, LARGE_FRAME_BYTES } from "./frame.ts";
import { decodeRaftFrame, encodeMessageFramePieces, encodeSnapshotChunkFrame, type RaftFrame } from "./raft-wire.ts";

// Raft messages between servers over TCP. One outbound connection per peer carries everything
// we send it; what peers send us arrives on their own outbound connections to our listener.
// Messages are written as soon as they are queued, without waiting for replies, so
// AppendEntries are pipelined; a snapshot travels as a sequence of chunk frames so one huge
// frame never blocks heartbeats for long or blows the frame limit.
//
// Limits: each peer's send queue holds at most `maxQueuedMessages`; beyond that, and while a
// peer is unreachable, messages are dropped and reported (Raft retries by itself: a dropped
// append becomes a probe, a dropped heartbeat is followed by the next one).

export interface PeerAddress {
  host: string;
  port: number;
}

export interface RaftTransportOptions {
  /** This node's Raft id. */
  id: number;
  host: string;
  /** 0 picks a free port (see `port` after listen). */
  port: number;
  peers: ReadonlyMap<number, PeerAddress>;
  /** Every message addressed to this node, snapshots reassembled. */
  onMessage: (m: Message) => void;
  /** The peer could not be reached or a message to it was dropped (feed RawNode.reportUnreachable). */
  onUnreachable: (peer: number) => void;
  /** A snapshot finished sending (failed = false) or was lost (feed RawNode.reportSnapshot). */
  onSnapshotStatus: (peer: number, failed: boolean) => void;
  clock: Clock;
  rng: Rng;
  maxQueuedMessages: number;
  snapshotChunkBytes: number;
  /** Largest snapshot accepted from a peer. */
  maxSnapshotBytes: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /**
   * Bytes written first on every outbound connection: when Raft shares the server RPC port,
   * the receiving side's protocol switch reads them to hand the connection to Raft.
   */
  preamble: Uint8Array;
  /** How peers are dialled (TLS on the server port with verify_outgoing); plain when absent. */
  dial?: ServerPortDialer;
}

export const defaultRaftTransportOptions = {
  maxQueuedMessages: 4096,
  snapshotChunkBytes: 1024 * 1024,
  maxSnapshotBytes: 1024 * 1024 * 1024,
  reconnectBaseMs: 50,
  reconnectMaxMs: 5000,
  preamble: new Uint8Array(0),
};

export interface RaftTransportStats {
  sent: number;
  received: number;
  dropped: number;
  connects: number;
  connectFailures: number;
}

type QueueItem = { kind: "message"; m: Message } | { kind: "snapshot"; m: Message; id: number; sentBytes: number };

/** Delay before reconnect attempt `attempt` (1-based): exponential, capped, "equal jitter". */
export function reconnectDelayMs(attempt: number, options: { baseMs: number; maxMs: number }, random: number): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(30, attempt - 1));
  return ceiling / 2 + (random * ceiling) / 2;
}

const PeerState = { Connecting: "connecting", Connected: "connected", Backoff: "backoff", Closed: "closed" } as const;
type PeerState = (typeof PeerState)[keyof typeof PeerState];

class Peer {
  readonly id: number;
  address: PeerAddress;
  state: PeerState = PeerState.Connecting;
  socket: Socket | undefined;
  queue: QueueItem[] = [];
  queueHead = 0;
  attempts = 0;
  timer: TimerHandle | undefined;
  waitingForDrain = false;

  constructor(id: number, address: PeerAddress) {
    this.id = id;
    this.address = address;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }
}

export class RaftTransport {
  readonly #options: RaftTransportOptions;
  /** Absent when connections are accepted elsewhere (the server RPC port) and handed over through accept(). */
  readonly #server: Server | undefined;
  readonly #peers = new Map<number, Peer>();
  readonly #inbound = new Set<Socket>();
  #nextSnapshotId = 1;
  #closed = false;
  readonly stats: RaftTransportStats = { sent: 0, received: 0, dropped: 0, connects: 0, connectFailures: 0 };

  private constructor(options: RaftTransportOptions, server: Server | undefined) {
    this.#options = options;
    this.#server = server;
  }

  static async listen(
    options: Pick<RaftTransportOptions, "id" | "host" | "port" | "onMessage"> & Partial<RaftTransportOptions>,
  ): Promise<RaftTransport> {
    const full: RaftTransportOptions = {
      peers: new Map(),
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
      clock: systemClock,
      rng: systemRng,
      ...defaultRaftTransportOptions,
      ...options,
    };
    const server = createServer();
    const transport = new RaftTransport(full, server);
    server.on("connection", (socket) => transport.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(full.port, full.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    for (const [id, address] of full.peers) transport.addPeer(id, address);
    return transport;
  }

  /** A transport without its own listener: inbound connections arrive through accept(). */
  static detached(options: Pick<RaftTransportOptions, "id" | "onMessage"> & Partial<RaftTransportOptions>): RaftTransport {
    const full: RaftTransportOptions = {
      host: "",
      port: 0,
      peers: new Map(),
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
      clock: systemClock,
      rng: systemRng,
      ...defaultRaftTransportOptions,
      ...options,
    };
    const transport = new RaftTransport(full, undefined);
    for (const [id, address] of full.peers) transport.addPeer(id, address);
    return transport;
  }

  /** Takes over an inbound connection whose protocol preamble was already read; `head` is what followed it. */
  accept(socket: Socket, head: Buffer): void {
    this.#accept(socket, head);
  }

  /** The listener's port; 0 for a detached transport. */
  get port(): number {
    if (!this.#server) return 0;
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("raft transport: not listening on TCP");
    return address.port;
  }

  addPeer(id: number, address: PeerAddress): void {
    if (id === this.#options.id || this.#closed) return;
    const existing = this.#peers.get(id);
    if (existing) {
      existing.address = address;
      return;
    }
    const peer = new Peer(id, address);
    this.#peers.set(id, peer);
    this.#connect(peer);
  }

  removePeer(id: number): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    this.#shutdownPeer(peer);
  }

  /** Queues messages for their peers and writes them out at once (no reply is awaited). */
  send(messages: readonly Message[]): void {
    const touched = new Set<Peer>();
    for (const m of messages) {
      const peer = this.#peers.get(m.to);
      if (!peer || peer.state === PeerState.Backoff || peer.queued >= this.#options.maxQueuedMessages) {
        this.#drop(m, peer);
        continue;
      }
      if (m.type === MessageType.Snap && m.snapshot) peer.queue.push({ kind: "snapshot", m, id: this.#nextSnapshotId++, sentBytes: 0 });
      else peer.queue.push({ kind: "message", m });
      touched.add(peer);
    }
    for (const peer of touched) this.#flush(peer);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of this.#peers.values()) this.#shutdownPeer(peer);
    this.#peers.clear();
    for (const socket of this.#inbound) socket.destroy();
    this.#inbound.clear();
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #drop(m: Message, peer: Peer | undefined): void {
    this.stats.dropped++;
    if (m.type === MessageType.Snap) this.#options.onSnapshotStatus(m.to, true);
    if (peer) this.#options.onUnreachable(m.to);
  }

  #connect(peer: Peer): void {
    peer.state = PeerState.Connecting;
    const { socket, readyEvent } = (this.#options.dial ?? plainDialer)(peer.address.host, peer.address.port);
    peer.socket = socket;
    socket.setNoDelay(true);
    if (this.#options.preamble.byteLength > 0) socket.write(this.#options.preamble);
    socket.on(readyEvent, () => {
      if (peer.socket !== socket) return;
      peer.state = PeerState.Connected;
      peer.attempts = 0;
      this.stats.connects++;
      this.#flush(peer);
    });
    socket.on("drain", () => {
      peer.waitingForDrain = false;
      this.#flush(peer);
    });
    // Peers never answer on this connection; reading just notices the far end closing.
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => {
      if (peer.socket === socket) this.#connectionLost(peer);
    });
  }

  #connectionLost(peer: Peer): void {
    peer.socket = undefined;
    peer.waitingForDrain = false;
    if (this.#closed || peer.state === PeerState.Closed) return;
    this.stats.connectFailures++;
    // What was queued is stale by the time we reconnect; Raft resends what still matters.
    this.#failQueue(peer);
    this.#options.onUnreachable(peer.id);
    peer.state = PeerState.Backoff;
    peer.attempts++;
    const o = this.#options;
    const delay = reconnectDelayMs(peer.attempts, { baseMs: o.reconnectBaseMs, maxMs: o.reconnectMaxMs }, o.rng.float());
    peer.timer = o.clock.setTimer(delay, () => {
      peer.timer = undefined;
      if (!this.#closed && peer.state === PeerState.Backoff) this.#connect(peer);
    });
  }

  #failQueue(peer: Peer): void {
    for (let i = peer.queueHead; i < peer.queue.length; i++) {
      const item = peer.queue[i];
      this.stats.dropped++;
      if (item.kind === "snapshot") this.#options.onSnapshotStatus(peer.id, true);
    }
    peer.queue = [];
    peer.queueHead = 0;
  }

  #shutdownPeer(peer: Peer): void {
    peer.state = PeerState.Closed;
    peer.timer?.cancel();
    peer.timer = undefined;
    this.#failQueue(peer);
    peer.socket?.destroy();
    peer.socket = undefined;
  }

  #flush(peer: Peer): void {
    const socket = peer.socket;
    if (peer.state !== PeerState.Connected || !socket || peer.waitingForDrain) return;
    socket.cork();
    let writable = true;
    while (writable && peer.queueHead < peer.queue.length) {
      const item = peer.queue[peer.queueHead];
      if (item.kind === "message") {
        // Usually one piece; a large entry's data goes as its own (no copy), in the same corked write.
        for (const piece of encodeMessageFramePieces(item.m)) writable = socket.write(piece);
        this.stats.sent++;
        peer.queueHead++;
        continue;
      }
      const { done, ok } = this.#writeSnapshotChunk(socket, peer, item);
      writable = ok;
      if (done) peer.queueHead++;
    }
    socket.uncork();
    if (!writable) peer.waitingForDrain = true;
    if (peer.queueHead === peer.queue.length) {
      peer.queue = [];
      peer.queueHead = 0;
    } else if (peer.queueHead > 1024 && peer.queueHead * 2 > peer.queue.length) {
      peer.queue = peer.queue.slice(peer.queueHead);
      peer.queueHead = 0;
    }
  }

  #writeSnapshotChunk(socket: Socket, peer: Peer, item: Extract<QueueItem, { kind: "snapshot" }>): { done: boolean; ok: boolean } {
    const snapshot = item.m.snapshot as Snapshot;
    const total = snapshot.data.byteLength;
    const end = Math.min(total, item.sentBytes + this.#options.snapshotChunkBytes);
    const chunk = snapshot.data.subarray(item.sentBytes, end);
    const head = item.sentBytes === 0 ? { ...item.m, snapshot: { ...snapshot, data: new Uint8Array(0) } } : undefined;
    const last = end === total;
    const ok = socket.write(
      encodeSnapshotChunkFrame(item.id, item.sentBytes, total, chunk, head),
      last
        ? (err?: Error | null) => {
            this.stats.sent++;
            this.#options.onSnapshotStatus(peer.id, err !== undefined && err !== null);
          }
        : undefined,
    );
    item.sentBytes = end;
    return { done: last, ok };
  }

  #accept(socket: Socket, head?: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#inbound.add(socket);
    socket.setNoDelay(true);
    const splitter = new FrameSplitter();
    const snapshots = new Map<number, { m: Message; data: Uint8Array; received: number }>();
    const onData = (chunk: Buffer): void => {
      let frames: RaftFrame[];
      try {
        // Decoded entries point into the payload, and socket chunks are reused: a small frame is
        // copied out; a large one was assembled in a buffer of its own as it arrived.
        frames = splitter
          .push(chunk)
          .map((payload) => decodeRaftFrame(payload.byteLength >= LARGE_FRAME_BYTES ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) : Uint8Array.prototype.slice.call(payload)));
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (!this.#receive(frame, snapshots)) {
          socket.destroy();
          return;
        }
      }
    };
    socket.on("data", onData);
    socket.on("error", () => {});
    socket.on("close", () => this.#inbound.delete(socket));
    if (head && head.byteLength > 0) onData(head);
  }

  /** Handles one frame; false means the peer broke the protocol and the connection goes. */
  #receive(frame: RaftFrame, snapshots: Map<number, { m: Message; data: Uint8Array; received: number }>): boolean {
    if (frame.kind === "message") {
      this.#deliver(frame.m);
      return true;
    }
    let pending = snapshots.get(frame.id);
    if (!pending) {
      if (frame.offset !== 0 || !frame.m?.snapshot || frame.total > this.#options.maxSnapshotBytes) return false;
      pending = { m: frame.m, data: new Uint8Array(frame.total), received: 0 };
      snapshots.set(frame.id, pending);
    }
    if (frame.offset !== pending.received || frame.offset + frame.chunk.byteLength > pending.data.byteLength) return false;
    pending.data.set(frame.chunk, frame.offset);
    pending.received += frame.chunk.byteLength;
    if (pending.received === pending.data.byteLength) {
      snapshots.delete(frame.id);
      const snapshot = pending.m.snapshot as Snapshot;
      this.#deliver({ ...pending.m, snapshot: { ...snapshot, data: pending.data } });
    }
    return true;
  }

  #deliver(m: Message): void {
    if (m.to !== this.#options.id) return;
    this.stats.received++;
    this.#options.onMessage(m);
  }
}
