import type { Rng } from "../runtime/rng.ts";
import { assert } from "./assert.ts";
import { Awareness } from "./awareness.ts";
import { BroadcastQueue, type BroadcastCategory } from "./broadcast-queue.ts";
import type { GossipObserver } from "./observer.ts";
import { COMPOUND_HEADER_BYTES, COMPOUND_PART_OVERHEAD_BYTES, decodeMessage, decodePacket, encodeCompound, encodeMessage, encodedTagsBytes, GossipCodecError } from "./codec.ts";
import type { GossipConfig } from "./config.ts";
import { isDeadOrLeft, MemberStatus, sameTags } from "./member-state.ts";
import type { Member, MemberTags } from "./member-state.ts";
import { MessageKind, WireStatus } from "./messages.ts";
import type {
  AckMessage,
  AliveMessage,
  DeadMessage,
  GossipMessage,
  IndirectPingMessage,
  LeaveIntentMessage,
  PingMessage,
  PushPullMessage,
  SuspectMessage,
  UserEventMessage,
} from "./messages.ts";
import { pushPullIntervalMs, retransmitLimit, suspicionTimeoutMs } from "./scaling.ts";
import { Suspicion } from "./suspicion.ts";
import { LamportClock, UserEventBuffer } from "./user-events.ts";

// The SWIM + Lifeguard core (memberlist state.go + serf's events, reconnect and reaper) as a
// pure state machine. It never reads a clock, draws randomness of its own or touches a socket:
// callers pass `nowMs`, inject an Rng, and carry out the effects returned by `ready()`.
//
//   tick(nowMs)                     run whatever is due (probe, gossip, push-pull, timeouts)
//   forceLeave(name, prune, now)    serf's leave intent for a failed member, cluster-wide
//   receive(fromAddr, packet, now)  a UDP datagram arrived
//   handleStream(fromAddr, bytes)   a TCP request arrived; returns the reply to write back
//   receiveStreamReply(id, bytes)   our TCP request finished (undefined = failed / timed out)
//   ready()                         drain events, packets and stream requests
//   nextDeadlineMs()                when tick() next has work, for event-driven drivers

export type GossipEvent =
  | { readonly type: "join"; readonly member: Member }
  | { readonly type: "update"; readonly member: Member }
  | { readonly type: "suspect"; readonly member: Member; readonly from: string }
  | { readonly type: "alive"; readonly member: Member }
  | { readonly type: "dead"; readonly member: Member; readonly from: string }
  | { readonly type: "leave"; readonly member: Member; readonly forced: boolean }
  | { readonly type: "reap"; readonly member: Member }
  | { readonly type: "conflict"; readonly existing: Member; readonly claimedAddr: string; readonly local: boolean }
  | { readonly type: "user"; readonly ltime: number; readonly name: string; readonly payload: Uint8Array; readonly coalesce: boolean }
  | { readonly type: "leaveComplete" };

export interface OutgoingPacket {
  readonly to: string;
  readonly bytes: Uint8Array;
}

export const StreamPurpose = { join: "join", pushPull: "pushPull", ping: "ping" } as const;
export type StreamPurpose = (typeof StreamPurpose)[keyof typeof StreamPurpose];

export interface StreamRequest {
  readonly id: number;
  readonly to: string;
  readonly purpose: StreamPurpose;
  readonly bytes: Uint8Array;
}

/**
 * One batch of effects. Ordering: deliver `events` to the application in array order (they
 * are in the order they happened); `packets` and `streams` are independent and may be sent in
 * any order. Nothing needs persisting: gossip state is soft and rebuilt by joining.
 */
export interface SwimReady {
  readonly events: GossipEvent[];
  readonly packets: OutgoingPacket[];
  readonly streams: StreamRequest[];
}

export interface InitialMember {
  readonly name: string;
  readonly addr: string;
  readonly tags: MemberTags;
  readonly incarnation: number;
}

/**
 * memberlist's PingDelegate: what rides on our acks, and what a finished direct probe measured
 * (serf feeds its Vivaldi coordinate from it). Called synchronously; must not throw.
 */
export interface PingDelegate {
  ackPayload(): Uint8Array | undefined;
  /** A direct ping to `member` was acked after `rttMs`, carrying the peer's ack payload. */
  pingComplete(member: string, rttMs: number, payload: Uint8Array | undefined): void;
}

export interface SwimOptions {
  readonly name: string;
  readonly addr: string;
  readonly tags?: MemberTags;
  readonly config: GossipConfig;
  readonly rng: Rng;
  readonly nowMs: number;
  /** Bytes the transport adds to each datagram (encryption); subtracted from the UDP budget. */
  readonly packetOverheadBytes?: number;
  /**
   * Members known at start without gossiping about them (a simulator starting from a
   * converged view, or a restored snapshot). Normal agents start empty and call join().
   */
  readonly initialMembers?: readonly InitialMember[];
  /** Told of finished probes (metrics); absent: nobody listens. */
  readonly observer?: Pick<GossipObserver, "probeFinished">;
  /** Ack payloads and direct-probe RTTs (network coordinates); absent: acks carry nothing. */
  readonly ping?: PingDelegate;
}

export interface SwimStats {
  readonly healthScore: number;
  readonly broadcastQueueDepth: number;
  /** Queued broadcasts that serf keeps in its own queues: leave intents and user events. */
  readonly intentQueueDepth: number;
  readonly eventQueueDepth: number;
  readonly broadcastsDropped: number;
  readonly probesFailed: number;
  readonly refutations: number;
  readonly malformedPackets: number;
}

export class GossipTagsTooLargeError extends Error {
  constructor(bytes: number, limit: number) {
    super(`encoded node tags are ${bytes} bytes, above the ${limit}-byte limit (metaMaxBytes)`);
    this.name = "GossipTagsTooLargeError";
  }
}

interface MemberRecord {
  name: string;
  addr: string;
  tags: MemberTags;
  incarnation: number;
  status: MemberStatus;
  statusChangedMs: number;
  reaped: boolean;
  /** Newest leave-intent Lamport time seen for this member (serf statusLTime); -1 = none. */
  intentLTime: number;
  /**
   * A leave intent arrived while we still saw the member alive (serf's `leaving`): its death,
   * when we notice it, is recorded as left. Cleared when the member out-numbers the intent.
   */
  leaveIntended: boolean;
}

/** The probe in flight (memberlist probeNode, unrolled into states). */
interface Probe {
  readonly target: MemberRecord;
  readonly seq: number;
  readonly startedMs: number;
  readonly directDeadlineMs: number;
  readonly deadlineMs: number;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** We relay an indirect ping: our own ping's seq maps back to the requester's. */
interface Relay {
  readonly originAddr: string;
  readonly originSeq: number;
  readonly wantNack: boolean;
  readonly expiresMs: number;
}

interface PendingStream {
  readonly purpose: StreamPurpose;
  readonly probeSeq: number;
}

const STATUS_TO_WIRE: Record<MemberStatus, WireStatus> = {
  alive: WireStatus.alive,
  suspect: WireStatus.suspect,
  dead: WireStatus.dead,
  left: WireStatus.left,
};

export class Swim {
  readonly name: string;
  readonly config: GossipConfig;
  readonly #rng: Rng;
  readonly #self: MemberRecord;
  readonly #members = new Map<string, MemberRecord>();
  /** Every record, in probe order; reshuffled each round, reaped records dropped then. */
  #probeList: MemberRecord[] = [];
  #probeIndex = 0;
  #liveCount = 0;
  /** Dead and left members, for the reaper and reconnects without scanning everyone. */
  readonly #down = new Set<MemberRecord>();
  readonly #awareness: Awareness;
  readonly #broadcasts: BroadcastQueue;
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #relays = new Map<number, Relay>();
  readonly #pendingStreams = new Map<number, PendingStream>();
  readonly #events: UserEventBuffer;
  /** Orders leave intents (serf's member clock), apart from the user-event clock. */
  readonly #intentClock = new LamportClock();
  readonly #packetLimit: number;
  #probe: Probe | undefined;
  readonly #observer: Pick<GossipObserver, "probeFinished"> | undefined;
  readonly #ping: PingDelegate | undefined;
  #seq = 0;
  #streamId = 0;
  #nextProbeMs: number;
  #nextGossipMs: number;
  #nextPushPullMs: number;
  #nextReconnectMs: number;
  #nextReapMs: number;
  #pushPullInFlight = false;
  #leaving = false;
  #leaveDeadlineMs = Number.POSITIVE_INFINITY;
  #leaveDone = false;
  #outEvents: GossipEvent[] = [];
  #outPackets: OutgoingPacket[] = [];
  #outStreams: StreamRequest[] = [];
  #probesFailed = 0;
  #refutations = 0;
  #malformed = 0;

  constructor(options: SwimOptions) {
    this.name = options.name;
    this.#observer = options.observer;
    this.#ping = options.ping;
    this.config = options.config;
    this.#rng = options.rng;
    const tags = options.tags ?? {};
    this.#checkTags(tags);
    this.#awareness = new Awareness(options.config.awarenessMaxMultiplier);
    this.#broadcasts = new BroadcastQueue(options.config.maxBroadcastQueueDepth);
    this.#events = new UserEventBuffer(options.config.eventBufferSize);
    this.#packetLimit = options.config.udpBufferSizeBytes - (options.packetOverheadBytes ?? 0);
    const now = options.nowMs;
    this.#self = newRecord(options.name, options.addr, tags, 1, now);
    this.#add(this.#self);
    for (const m of options.initialMembers ?? []) {
      if (m.name === this.name) continue;
      this.#add(newRecord(m.name, m.addr, m.tags, m.incarnation, now));
    }
    this.#shuffle(this.#probeList);
    // Stagger the periodic work so a cluster started at once does not act in lockstep.
    const c = options.config;
    this.#nextProbeMs = now + Math.floor(this.#rng.float() * c.probeIntervalMs);
    this.#nextGossipMs = now + Math.floor(this.#rng.float() * c.gossipIntervalMs);
    this.#nextPushPullMs = now + Math.floor(this.#rng.float() * this.#pushPullIntervalMs());
    this.#nextReconnectMs = now + c.reconnectIntervalMs;
    this.#nextReapMs = now + c.reapIntervalMs;
  }

  // ---- queries ----

  get localMember(): Member {
    return snapshot(this.#self);
  }

  get healthScore(): number {
    return this.#awareness.score;
  }

  get eventLTime(): number {
    return this.#events.clock.time;
  }

  get isLeaving(): boolean {
    return this.#leaving;
  }

  member(name: string): Member | undefined {
    const r = this.#members.get(name);
    return r ? snapshot(r) : undefined;
  }

  members(): Member[] {
    return [...this.#members.values()].map(snapshot);
  }

  /** Members currently alive or suspect, self included (memberlist's estimate of n). */
  get liveMemberCount(): number {
    return this.#liveCount;
  }

  stats(): SwimStats {
    return {
      healthScore: this.#awareness.score,
      broadcastQueueDepth: this.#broadcasts.size,
      intentQueueDepth: this.#broadcasts.depthOf("intent"),
      eventQueueDepth: this.#broadcasts.depthOf("event"),
      broadcastsDropped: this.#broadcasts.droppedTotal,
      probesFailed: this.#probesFailed,
      refutations: this.#refutations,
      malformedPackets: this.#malformed,
    };
  }

  /** Earliest time at which tick() has something to do. */
  nextDeadlineMs(): number {
    let next = Math.min(this.#nextGossipMs, this.#nextPushPullMs, this.#nextReconnectMs, this.#nextReapMs, this.#leaveDeadlineMs);
    if (this.#probe) {
      next = Math.min(next, this.#probe.indirectSent ? this.#probe.deadlineMs : this.#probe.directDeadlineMs);
    } else if (!this.#leaving) {
      next = Math.min(next, this.#nextProbeMs);
    }
    for (const r of this.#relays.values()) next = Math.min(next, r.expiresMs);
    for (const s of this.#suspicions.values()) next = Math.min(next, s.deadlineMs);
    return next;
  }

  ready(): SwimReady {
    const out = { events: this.#outEvents, packets: this.#outPackets, streams: this.#outStreams };
    this.#outEvents = [];
    this.#outPackets = [];
    this.#outStreams = [];
    return out;
  }

  // ---- commands ----

  /** Starts a push-pull join with each address; returns the stream ids to watch. */
  join(addrs: readonly string[]): number[] {
    return addrs.map((to) => this.#requestPushPull(to, StreamPurpose.join));
  }

  /** Changes this member's tags (role, dc, ports, build…) and announces them. */
  setTags(tags: MemberTags, nowMs: number): void {
    this.#checkTags(tags);
    this.#self.tags = tags;
    this.#self.incarnation++;
    this.#self.statusChangedMs = nowMs;
    this.#broadcastAlive(this.#self);
  }

  /** Fires a user event cluster-wide (serf UserEvent); it is also delivered locally. */
  userEvent(name: string, payload: Uint8Array, coalesce: boolean): void {
    const size = name.length + payload.length;
    if (size > this.config.userEventMaxBytes) {
      throw new RangeError(`user event is ${size} bytes, above the ${this.config.userEventMaxBytes}-byte limit (userEventMaxBytes)`);
    }
    const msg: UserEventMessage = { kind: MessageKind.userEvent, ltime: this.#events.clock.stamp(), name, payload, coalesce };
    this.#handleUserEvent(msg);
  }

  /**
   * Graceful leave: announces our own death (which peers record as `left`), stops probing and
   * refuting, and emits `leaveComplete` once the announcement went out or the timeout passed.
   */
  leave(nowMs: number): void {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#probe = undefined;
    this.#leaveDeadlineMs = nowMs + this.config.leaveBroadcastTimeoutMs;
    const msg: DeadMessage = { kind: MessageKind.dead, incarnation: this.#self.incarnation, name: this.name, from: this.name };
    this.#deadNode(msg, nowMs);
    if (this.#liveCount <= 0) this.#completeLeave();
  }

  /**
   * serf's force-leave: a leave intent for another member, applied here and broadcast. A
   * failed or suspect member becomes `left` everywhere (`prune`: erased from every list); an
   * alive one is only marked so that its death counts as a leave, and refutes the intent
   * itself if it is still running. False when no such member is known.
   */
  forceLeave(name: string, prune: boolean, nowMs: number): boolean {
    const r = this.#members.get(name);
    if (!r) return false;
    const msg: LeaveIntentMessage = { kind: MessageKind.leaveIntent, ltime: this.#intentClock.stamp(), name, incarnation: r.incarnation, prune };
    this.#handleLeaveIntent(msg, nowMs);
    return true;
  }

  // ---- inputs ----

  tick(nowMs: number): void {
    const c = this.config;
    if (this.#leaving && nowMs >= this.#leaveDeadlineMs) this.#completeLeave();
    this.#tickProbe(nowMs);
    for (const [seq, relay] of this.#relays) {
      if (nowMs < relay.expiresMs) continue;
      this.#relays.delete(seq);
      if (relay.wantNack) this.#send(relay.originAddr, [encodeMessage({ kind: MessageKind.nack, seq: relay.originSeq })]);
    }
    for (const [name, suspicion] of this.#suspicions) {
      if (nowMs < suspicion.deadlineMs) continue;
      this.#suspicions.delete(name);
      const r = this.#members.get(name);
      if (r && r.status === MemberStatus.suspect) {
        this.#deadNode({ kind: MessageKind.dead, incarnation: r.incarnation, name, from: this.name }, nowMs);
      }
    }
    if (nowMs >= this.#nextGossipMs) {
      this.#nextGossipMs = nowMs + c.gossipIntervalMs;
      this.#gossip(nowMs);
    }
    if (nowMs >= this.#nextPushPullMs) {
      this.#nextPushPullMs = nowMs + this.#pushPullIntervalMs();
      if (!this.#leaving && !this.#pushPullInFlight) {
        const peer = this.#randomMembers(1, (r) => r.status === MemberStatus.alive)[0];
        if (peer) {
          this.#pushPullInFlight = true;
          this.#requestPushPull(peer.addr, StreamPurpose.pushPull);
        }
      }
    }
    if (nowMs >= this.#nextReconnectMs) {
      this.#nextReconnectMs = nowMs + c.reconnectIntervalMs;
      this.#reconnect();
    }
    if (nowMs >= this.#nextReapMs) {
      this.#nextReapMs = nowMs + c.reapIntervalMs;
      this.#reap(nowMs);
    }
  }

  receive(fromAddr: string, packet: Uint8Array, nowMs: number): void {
    let messages: GossipMessage[];
    try {
      messages = decodePacket(packet);
    } catch (err) {
      if (!(err instanceof GossipCodecError)) throw err;
      this.#malformed++;
      return;
    }
    for (const msg of messages) this.#handle(fromAddr, msg, nowMs);
  }

  /** A peer's TCP request: push-pull state exchange or a fallback ping. Returns our reply. */
  handleStream(_fromAddr: string, bytes: Uint8Array, nowMs: number): Uint8Array | undefined {
    let msg: GossipMessage;
    try {
      msg = decodeMessage(bytes);
    } catch (err) {
      if (!(err instanceof GossipCodecError)) throw err;
      this.#malformed++;
      return undefined;
    }
    if (msg.kind === MessageKind.ping) {
      if (msg.target !== "" && msg.target !== this.name) return undefined;
      return encodeMessage(this.#ack(msg.seq));
    }
    if (msg.kind === MessageKind.pushPull) {
      const reply = encodeMessage(this.#localState(false));
      this.#mergeRemoteState(msg, nowMs);
      return reply;
    }
    return undefined;
  }

  /** Outcome of a stream we requested. Returns true when the exchange succeeded. */
  receiveStreamReply(id: number, reply: Uint8Array | undefined, nowMs: number): boolean {
    const pending = this.#pendingStreams.get(id);
    if (!pending) return false;
    this.#pendingStreams.delete(id);
    if (pending.purpose === StreamPurpose.pushPull) this.#pushPullInFlight = false;
    if (!reply) return false;
    let msg: GossipMessage;
    try {
      msg = decodeMessage(reply);
    } catch (err) {
      if (!(err instanceof GossipCodecError)) throw err;
      this.#malformed++;
      return false;
    }
    if (pending.purpose === StreamPurpose.ping) {
      if (msg.kind !== MessageKind.ack || msg.seq !== pending.probeSeq) return false;
      if (this.#probe && this.#probe.seq === msg.seq) this.#finishProbe(true, 0, nowMs);
      return true;
    }
    if (msg.kind !== MessageKind.pushPull) return false;
    // A joiner takes the seed's event history as already seen rather than replaying it
    // (serf's ignore-old join); events the seed had not seen yet are still delivered.
    if (pending.purpose === StreamPurpose.join) {
      this.#events.clock.witness(msg.eventLTime);
      for (const e of msg.events) this.#events.admit(e);
    }
    this.#mergeRemoteState(msg, nowMs);
    return true;
  }

  // ---- probing ----

  #tickProbe(nowMs: number): void {
    const probe = this.#probe;
    if (probe) {
      if (!probe.indirectSent && nowMs >= probe.directDeadlineMs) this.#sendIndirectProbes(probe);
      if (nowMs >= probe.deadlineMs) this.#probeTimedOut(probe, nowMs);
    }
    if (!this.#probe && !this.#leaving && nowMs >= this.#nextProbeMs) {
      this.#nextProbeMs = nowMs + this.config.probeIntervalMs;
      this.#startProbe(nowMs);
    }
  }

  #nextProbeTarget(): MemberRecord | undefined {
    for (let checked = 0; checked <= this.#probeList.length; checked++) {
      if (this.#probeIndex >= this.#probeList.length) this.#resetProbeList();
      const r = this.#probeList[this.#probeIndex++];
      if (r && r !== this.#self && !r.reaped && !isDeadOrLeft(r)) return r;
    }
    return undefined;
  }

  #resetProbeList(): void {
    this.#probeList = this.#probeList.filter((r) => !r.reaped);
    this.#shuffle(this.#probeList);
    this.#probeIndex = 0;
  }

  #startProbe(nowMs: number): void {
    const target = this.#nextProbeTarget();
    if (!target) return;
    const c = this.config;
    const seq = ++this.#seq;
    this.#probe = {
      target,
      seq,
      startedMs: nowMs,
      directDeadlineMs: nowMs + c.probeTimeoutMs,
      deadlineMs: nowMs + this.#awareness.scaleTimeoutMs(c.probeIntervalMs),
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    const ping: PingMessage = { kind: MessageKind.ping, seq, target: target.name, sourceName: this.name, sourceAddr: this.#self.addr };
    const parts = [encodeMessage(ping)];
    // Buddy system: tell a suspect member it is suspected so it can refute at once.
    if (target.status === MemberStatus.suspect) {
      parts.push(encodeMessage({ kind: MessageKind.suspect, incarnation: target.incarnation, name: target.name, from: this.name }));
    }
    this.#send(target.addr, parts);
  }

  #sendIndirectProbes(probe: Probe): void {
    probe.indirectSent = true;
    const peers = this.#randomMembers(this.config.indirectChecks, (r) => r.status === MemberStatus.alive && r !== probe.target);
    for (const peer of peers) {
      const msg: IndirectPingMessage = {
        kind: MessageKind.indirectPing,
        seq: probe.seq,
        target: probe.target.name,
        targetAddr: probe.target.addr,
        wantNack: true,
        sourceName: this.name,
        sourceAddr: this.#self.addr,
      };
      this.#send(peer.addr, [encodeMessage(msg)]);
      probe.expectedNacks++;
    }
    if (this.config.tcpFallbackProbe) {
      const ping: PingMessage = { kind: MessageKind.ping, seq: probe.seq, target: probe.target.name, sourceName: this.name, sourceAddr: this.#self.addr };
      const id = ++this.#streamId;
      this.#pendingStreams.set(id, { purpose: StreamPurpose.ping, probeSeq: probe.seq });
      this.#outStreams.push({ id, to: probe.target.addr, purpose: StreamPurpose.ping, bytes: encodeMessage(ping) });
    }
  }

  #probeTimedOut(probe: Probe, nowMs: number): void {
    // Lifeguard: missing nacks mean *we* may be the one cut off, so we slow down ourselves
    // rather than trust our own verdict fully.
    let delta = 1;
    if (probe.expectedNacks > 0) delta = Math.max(0, probe.expectedNacks - probe.nacks);
    this.#probesFailed++;
    this.#finishProbe(false, delta, nowMs);
    const target = probe.target;
    if (target.reaped || isDeadOrLeft(target)) return;
    this.#suspectNode({ kind: MessageKind.suspect, incarnation: target.incarnation, name: target.name, from: this.name }, nowMs);
  }

  #ack(seq: number): AckMessage {
    const payload = this.#ping?.ackPayload();
    return payload ? { kind: MessageKind.ack, seq, payload } : { kind: MessageKind.ack, seq };
  }

  #finishProbe(_ok: boolean, awarenessDelta: number, nowMs: number): void {
    if (this.#probe) this.#observer?.probeFinished(nowMs - this.#probe.startedMs);
    this.#probe = undefined;
    this.#awareness.applyDelta(awarenessDelta);
    if (this.#nextProbeMs < nowMs) this.#nextProbeMs = nowMs;
  }

  // ---- message handling ----

  #handle(fromAddr: string, msg: GossipMessage, nowMs: number): void {
    switch (msg.kind) {
      case MessageKind.ping:
        if (msg.target !== "" && msg.target !== this.name) return;
        this.#send(msg.sourceAddr || fromAddr, [encodeMessage(this.#ack(msg.seq))]);
        return;
      case MessageKind.indirectPing: {
        const seq = ++this.#seq;
        this.#relays.set(seq, { originAddr: msg.sourceAddr || fromAddr, originSeq: msg.seq, wantNack: msg.wantNack, expiresMs: nowMs + this.config.probeTimeoutMs });
        this.#send(msg.targetAddr, [encodeMessage({ kind: MessageKind.ping, seq, target: msg.target, sourceName: this.name, sourceAddr: this.#self.addr })]);
        return;
      }
      case MessageKind.ack: {
        const relay = this.#relays.get(msg.seq);
        if (relay) {
          this.#relays.delete(msg.seq);
          this.#send(relay.originAddr, [encodeMessage({ kind: MessageKind.ack, seq: relay.originSeq })]);
          return;
        }
        const probe = this.#probe;
        if (probe && probe.seq === msg.seq) {
          // Only a direct answer measures the round trip to the target (memberlist probeNode).
          if (!probe.indirectSent) this.#ping?.pingComplete(probe.target.name, nowMs - probe.startedMs, msg.payload);
          this.#finishProbe(true, probe.indirectSent ? 0 : -1, nowMs);
        }
        return;
      }
      case MessageKind.nack:
        if (this.#probe && this.#probe.seq === msg.seq) this.#probe.nacks++;
        return;
      case MessageKind.alive:
        this.#aliveNode(msg, nowMs);
        return;
      case MessageKind.suspect:
        this.#suspectNode(msg, nowMs);
        return;
      case MessageKind.dead:
        this.#deadNode(msg, nowMs);
        return;
      case MessageKind.userEvent:
        this.#handleUserEvent(msg);
        return;
      case MessageKind.leaveIntent:
        this.#handleLeaveIntent(msg, nowMs);
        return;
      case MessageKind.pushPull:
        // Push-pull only travels on streams; a datagram carrying one is ignored.
        return;
    }
  }

  #aliveNode(a: AliveMessage, nowMs: number): void {
    const isLocal = a.name === this.name;
    if (isLocal && this.#leaving) return;
    let r = this.#members.get(a.name);
    if (!r) {
      r = newRecord(a.name, a.addr, a.tags, a.incarnation, nowMs);
      this.#add(r, true);
      this.#broadcastAlive(r);
      this.#emit({ type: "join", member: snapshot(r) });
      return;
    }
    const addrChanged = r.addr !== a.addr;
    if (addrChanged) {
      const reclaimMs = this.config.deadNodeReclaimTimeMs;
      const canReclaim = r.status === MemberStatus.left || (r.status === MemberStatus.dead && reclaimMs > 0 && nowMs - r.statusChangedMs > reclaimMs);
      if (isLocal || !canReclaim) {
        // Two members claim one name: report it and keep what we have (serf resolves by vote).
        if (a.incarnation >= r.incarnation || isLocal) {
          this.#emit({ type: "conflict", existing: snapshot(r), claimedAddr: a.addr, local: isLocal });
        }
        return;
      }
    }
    if (isLocal && a.incarnation < r.incarnation) return;
    // memberlist forgets the dead after gossipToTheDead, so their last alive is news again:
    // that is how the two sides of a healed partition take each other back.
    const forgotten = r.status === MemberStatus.dead && nowMs - r.statusChangedMs > this.config.gossipToTheDeadMs;
    const newer = a.incarnation > r.incarnation || (forgotten && a.incarnation === r.incarnation);
    if (!isLocal && !addrChanged && !newer) return;
    this.#suspicions.delete(a.name);
    if (a.incarnation > r.incarnation) r.leaveIntended = false;
    if (isLocal) {
      // Our own alive echoing back is fine; anything else claims a newer us: out-number it.
      if (a.incarnation === r.incarnation && sameTags(a.tags, r.tags)) return;
      this.#refute(a.incarnation);
      return;
    }
    const oldStatus = r.status;
    const tagsChanged = !sameTags(r.tags, a.tags);
    r.incarnation = a.incarnation;
    r.addr = a.addr;
    r.tags = a.tags;
    if (oldStatus !== MemberStatus.alive) this.#setStatus(r, MemberStatus.alive, nowMs);
    this.#broadcastAlive(r);
    if (oldStatus === MemberStatus.dead || oldStatus === MemberStatus.left) {
      this.#emit({ type: "join", member: snapshot(r) });
    } else if (tagsChanged || addrChanged) {
      this.#emit({ type: "update", member: snapshot(r) });
    } else if (oldStatus === MemberStatus.suspect) {
      this.#emit({ type: "alive", member: snapshot(r) });
    }
  }

  #suspectNode(s: SuspectMessage, nowMs: number): void {
    const r = this.#members.get(s.name);
    if (!r || s.incarnation < r.incarnation) return;
    const existing = this.#suspicions.get(s.name);
    if (existing) {
      if (existing.confirm(s.from, nowMs)) this.#broadcast(s.name, encodeMessage(s));
      return;
    }
    if (r.status !== MemberStatus.alive) return;
    if (r === this.#self) {
      if (!this.#leaving) this.#refute(s.incarnation);
      return;
    }
    this.#broadcast(s.name, encodeMessage(s));
    r.incarnation = s.incarnation;
    this.#setStatus(r, MemberStatus.suspect, nowMs);
    const c = this.config;
    const n = this.#liveCount;
    let expected = c.suspicionMult - 2;
    if (n - 2 < expected) expected = 0;
    const minMs = suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs);
    this.#suspicions.set(s.name, new Suspicion(s.from, nowMs, { expected, minMs, maxMs: c.suspicionMaxTimeoutMult * minMs }));
    this.#emit({ type: "suspect", member: snapshot(r), from: s.from });
  }

  #deadNode(d: DeadMessage, nowMs: number): void {
    const r = this.#members.get(d.name);
    if (!r || d.incarnation < r.incarnation) return;
    this.#suspicions.delete(d.name);
    if (isDeadOrLeft(r)) return;
    if (r === this.#self) {
      if (!this.#leaving) {
        this.#refute(d.incarnation);
        return;
      }
      this.#broadcast(d.name, encodeMessage(d), () => this.#completeLeave());
      this.#setStatus(r, MemberStatus.left, nowMs);
      return;
    }
    this.#broadcast(d.name, encodeMessage(d));
    r.incarnation = d.incarnation;
    if (d.from === d.name || r.leaveIntended) {
      this.#setStatus(r, MemberStatus.left, nowMs);
      this.#emit({ type: "leave", member: snapshot(r), forced: d.from !== d.name });
    } else {
      this.#setStatus(r, MemberStatus.dead, nowMs);
      this.#emit({ type: "dead", member: snapshot(r), from: d.from });
    }
  }

  #refute(accusedIncarnation: number): void {
    const self = this.#self;
    self.incarnation = Math.max(self.incarnation, accusedIncarnation) + 1;
    this.#refutations++;
    // Being suspected is a sign that we are slow (Lifeguard): back off our own probing.
    this.#awareness.applyDelta(1);
    this.#broadcastAlive(self);
  }

  /** serf handleNodeLeaveIntent, with memberlist's incarnations deciding against a live member. */
  #handleLeaveIntent(msg: LeaveIntentMessage, nowMs: number): void {
    this.#intentClock.witness(msg.ltime);
    const r = this.#members.get(msg.name);
    // Already seen (a rebroadcast echoing back) or about a member we never knew: drop it.
    if (!r || msg.ltime <= r.intentLTime) return;
    r.intentLTime = msg.ltime;
    if (r === this.#self) {
      if (!this.#leaving) this.#refute(msg.incarnation);
      return;
    }
    // The member came back after the issuer saw it fail: the intent is stale.
    if (msg.incarnation < r.incarnation) return;
    this.#broadcast(`leave-intent/${msg.name}`, encodeMessage(msg), undefined, "intent");
    switch (r.status) {
      case MemberStatus.alive:
        r.leaveIntended = true;
        return;
      case MemberStatus.suspect:
      case MemberStatus.dead:
        this.#forceLeft(r, msg.incarnation, nowMs);
        break;
      case MemberStatus.left:
        break;
    }
    if (msg.prune) this.#erase(r);
  }

  /** A failed (or suspect) member recorded as left: serf's EventMemberLeave (forced). */
  #forceLeft(r: MemberRecord, incarnation: number, nowMs: number): void {
    this.#suspicions.delete(r.name);
    // Only an alive message above this incarnation, which only the member issues, undoes it.
    r.incarnation = Math.max(r.incarnation, incarnation);
    this.#setStatus(r, MemberStatus.left, nowMs);
    this.#emit({ type: "leave", member: snapshot(r), forced: true });
  }

  #handleUserEvent(msg: UserEventMessage): void {
    if (!this.#events.admit(msg)) return;
    this.#broadcast(undefined, encodeMessage(msg), undefined, "event");
    this.#emit({ type: "user", ltime: msg.ltime, name: msg.name, payload: msg.payload, coalesce: msg.coalesce });
  }

  // ---- push-pull, reconnect, reap ----

  #requestPushPull(to: string, purpose: StreamPurpose): number {
    const id = ++this.#streamId;
    this.#pendingStreams.set(id, { purpose, probeSeq: 0 });
    this.#outStreams.push({ id, to, purpose, bytes: encodeMessage(this.#localState(purpose === StreamPurpose.join)) });
    return id;
  }

  #localState(join: boolean): PushPullMessage {
    const members = [...this.#members.values()].map((r) => ({
      name: r.name,
      addr: r.addr,
      incarnation: r.incarnation,
      status: STATUS_TO_WIRE[r.status],
      tags: r.tags,
    }));
    return { kind: MessageKind.pushPull, join, members, eventLTime: this.#events.clock.time, events: this.#events.recent() };
  }

  #mergeRemoteState(msg: PushPullMessage, nowMs: number): void {
    // Our own entry goes last: a refutation is the most urgent news, and the queue sends the
    // newest first among equally-sent broadcasts.
    const own = msg.members.filter((m) => m.name === this.name);
    for (const m of msg.members.filter((x) => x.name !== this.name).concat(own)) {
      switch (m.status) {
        case WireStatus.alive:
          this.#aliveNode({ kind: MessageKind.alive, incarnation: m.incarnation, name: m.name, addr: m.addr, tags: m.tags }, nowMs);
          break;
        case WireStatus.left: {
          // serf's push-pull carries left members so that a member others force-left, which
          // we only knew as failed, is left here too.
          const r = this.#members.get(m.name);
          if (r && r !== this.#self && r.status === MemberStatus.dead && m.incarnation >= r.incarnation) this.#forceLeft(r, m.incarnation, nowMs);
          else this.#deadNode({ kind: MessageKind.dead, incarnation: m.incarnation, name: m.name, from: m.name }, nowMs);
          break;
        }
        default:
          // Their "dead" is only a hint for us: suspect, and let our own timers decide.
          if (!this.#members.has(m.name)) break;
          this.#suspectNode({ kind: MessageKind.suspect, incarnation: m.incarnation, name: m.name, from: this.name }, nowMs);
      }
    }
    this.#events.clock.witness(msg.eventLTime);
    for (const e of msg.events) this.#handleUserEvent({ kind: MessageKind.userEvent, ltime: e.ltime, name: e.name, payload: e.payload, coalesce: false });
  }

  /** serf reconnect: now and then retry one failed member, so healed partitions merge back. */
  #reconnect(): void {
    if (this.#leaving) return;
    const failed = [...this.#down].filter((r) => r.status === MemberStatus.dead);
    if (failed.length === 0) return;
    const probability = failed.length / Math.max(1, this.#liveCount);
    if (this.#rng.float() > probability) return;
    const target = failed[Math.floor(this.#rng.float() * failed.length)];
    this.#requestPushPull(target.addr, StreamPurpose.pushPull);
  }

  #reap(nowMs: number): void {
    for (const r of this.#down) {
      if (r === this.#self) continue;
      const age = nowMs - r.statusChangedMs;
      const expired = (r.status === MemberStatus.dead && age > this.config.reconnectTimeoutMs) || (r.status === MemberStatus.left && age > this.config.tombstoneTimeoutMs);
      if (expired) this.#erase(r);
    }
  }

  /** Forgets a dead or left member (serf eraseNode); the probe list drops it at its next reshuffle. */
  #erase(r: MemberRecord): void {
    r.reaped = true;
    this.#down.delete(r);
    this.#members.delete(r.name);
    this.#suspicions.delete(r.name);
    this.#emit({ type: "reap", member: snapshot(r) });
  }

  #completeLeave(): void {
    if (this.#leaveDone) return;
    this.#leaveDone = true;
    this.#leaveDeadlineMs = Number.POSITIVE_INFINITY;
    this.#emit({ type: "leaveComplete" });
  }

  // ---- gossip and sending ----

  #gossip(nowMs: number): void {
    if (this.#broadcasts.size === 0) return;
    const toTheDeadMs = this.config.gossipToTheDeadMs;
    const peers = this.#randomMembers(this.config.gossipNodes, (r) => {
      if (r.status === MemberStatus.alive || r.status === MemberStatus.suspect) return true;
      return r.status === MemberStatus.dead && nowMs - r.statusChangedMs <= toTheDeadMs;
    });
    for (const peer of peers) {
      const parts = this.#broadcasts.take(COMPOUND_PART_OVERHEAD_BYTES, this.#packetLimit - COMPOUND_HEADER_BYTES, this.#transmitLimit());
      if (parts.length === 0) return;
      for (const packet of encodeCompound(parts)) this.#outPackets.push({ to: peer.addr, bytes: packet });
    }
  }

  /** Sends messages in one datagram, piggybacking queued broadcasts in the space left. */
  #send(to: string, parts: Uint8Array[]): void {
    let used = COMPOUND_HEADER_BYTES;
    for (const p of parts) used += p.length + COMPOUND_PART_OVERHEAD_BYTES;
    assert(used <= this.#packetLimit, "gossip message exceeds the packet budget");
    if (this.#broadcasts.size > 0) {
      parts = parts.concat(this.#broadcasts.take(COMPOUND_PART_OVERHEAD_BYTES, this.#packetLimit - used, this.#transmitLimit()));
    }
    for (const packet of encodeCompound(parts)) this.#outPackets.push({ to, bytes: packet });
  }

  #transmitLimit(): number {
    return retransmitLimit(this.config.retransmitMult, this.#liveCount);
  }

  #broadcastAlive(r: MemberRecord): void {
    const msg: AliveMessage = { kind: MessageKind.alive, incarnation: r.incarnation, name: r.name, addr: r.addr, tags: r.tags };
    this.#broadcast(r.name, encodeMessage(msg));
  }

  #broadcast(key: string | undefined, bytes: Uint8Array, onFinished?: () => void, category?: BroadcastCategory): void {
    this.#broadcasts.enqueue({ key, bytes, onFinished, category });
  }

  // ---- bookkeeping ----

  #add(r: MemberRecord, randomPosition = false): void {
    assert(!this.#members.has(r.name), `member ${r.name} added twice`);
    this.#members.set(r.name, r);
    if (r.status === MemberStatus.alive || r.status === MemberStatus.suspect) this.#liveCount++;
    // A newcomer lands at a random place in the probe order, so not everyone probes it at once.
    const list = this.#probeList;
    list.push(r);
    if (randomPosition && list.length > 1) {
      const at = Math.floor(this.#rng.float() * list.length);
      [list[at], list[list.length - 1]] = [list[list.length - 1], list[at]];
    }
  }

  #setStatus(r: MemberRecord, status: MemberStatus, nowMs: number): void {
    const wasLive = r.status === MemberStatus.alive || r.status === MemberStatus.suspect;
    const isLive = status === MemberStatus.alive || status === MemberStatus.suspect;
    if (wasLive && !isLive) this.#liveCount--;
    if (!wasLive && isLive) this.#liveCount++;
    r.status = status;
    r.statusChangedMs = nowMs;
    if (isLive) this.#down.delete(r);
    else this.#down.add(r);
  }

  #pushPullIntervalMs(): number {
    return pushPullIntervalMs(this.config.pushPullIntervalMs, this.#liveCount);
  }

  /** Up to k distinct random members passing the filter (memberlist kRandomNodes). */
  #randomMembers(k: number, accept: (r: MemberRecord) => boolean): MemberRecord[] {
    const list = this.#probeList;
    const picked: MemberRecord[] = [];
    const tries = 3 * list.length;
    for (let i = 0; i < tries && picked.length < k; i++) {
      const r = list[Math.floor(this.#rng.float() * list.length)];
      if (r === this.#self || r.reaped || picked.includes(r) || !accept(r)) continue;
      picked.push(r);
    }
    return picked;
  }

  #shuffle<T>(list: T[]): void {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rng.float() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
  }

  #checkTags(tags: MemberTags): void {
    const bytes = encodedTagsBytes(tags);
    if (bytes > this.config.metaMaxBytes) throw new GossipTagsTooLargeError(bytes, this.config.metaMaxBytes);
  }

  #emit(event: GossipEvent): void {
    this.#outEvents.push(event);
  }
}

function newRecord(name: string, addr: string, tags: MemberTags, incarnation: number, nowMs: number): MemberRecord {
  return { name, addr, tags, incarnation, status: MemberStatus.alive, statusChangedMs: nowMs, reaped: false, intentLTime: -1, leaveIntended: false };
}

function snapshot(r: MemberRecord): Member {
  const member = { name: r.name, addr: r.addr, tags: r.tags, incarnation: r.incarnation, status: r.status, statusChangedMs: r.statusChangedMs };
  return r.leaveIntended && r.status !== MemberStatus.left ? { ...member, leaving: true } : member;
}
