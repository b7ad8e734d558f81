import type { MemberTags } from "./member-state.ts";

// Gossip wire messages (memberlist net.go's message types plus serf's user event). UDP packets
// carry one message or a compound of several; push-pull travels on a TCP stream.

export const MessageKind = {
  ping: 1,
  indirectPing: 2,
  ack: 3,
  nack: 4,
  suspect: 5,
  alive: 6,
  dead: 7,
  userEvent: 8,
  pushPull: 9,
  compound: 10,
  leaveIntent: 11,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

export interface PingMessage {
  readonly kind: typeof MessageKind.ping;
  readonly seq: number;
  /** The member the sender means to reach; a different member at that address ignores it. */
  readonly target: string;
  readonly sourceName: string;
  readonly sourceAddr: string;
}

export interface IndirectPingMessage {
  readonly kind: typeof MessageKind.indirectPing;
  readonly seq: number;
  readonly target: string;
  readonly targetAddr: string;
  /** Lifeguard: answer with a nack when the target stays silent, proving we are alive. */
  readonly wantNack: boolean;
  readonly sourceName: string;
  readonly sourceAddr: string;
}

export interface AckMessage {
  readonly kind: typeof MessageKind.ack;
  readonly seq: number;
  /** memberlist's ack payload: what the pinged node's ping delegate attached (serf: its coordinate). */
  readonly payload?: Uint8Array;
}

export interface NackMessage {
  readonly kind: typeof MessageKind.nack;
  readonly seq: number;
}

export interface SuspectMessage {
  readonly kind: typeof MessageKind.suspect;
  readonly incarnation: number;
  readonly name: string;
  readonly from: string;
}

export interface AliveMessage {
  readonly kind: typeof MessageKind.alive;
  readonly incarnation: number;
  readonly name: string;
  readonly addr: string;
  readonly tags: MemberTags;
}

/** A dead message whose `from` is the member itself announces a graceful leave. */
export interface DeadMessage {
  readonly kind: typeof MessageKind.dead;
  readonly incarnation: number;
  readonly name: string;
  readonly from: string;
}

export interface UserEventMessage {
  readonly kind: typeof MessageKind.userEvent;
  /** Lamport time of the event clock; with the name it identifies the event for de-dup. */
  readonly ltime: number;
  readonly name: string;
  readonly payload: Uint8Array;
  readonly coalesce: boolean;
}

/**
 * serf's leave intent (`force-leave`): asks every member to record a failed member as left.
 * `ltime` (the member-intent Lamport clock) de-duplicates the rebroadcasts; `incarnation` is
 * the incarnation the issuer knew, so an intent never outlives the member coming back alive,
 * and the member itself refutes it by out-numbering that incarnation.
 */
export interface LeaveIntentMessage {
  readonly kind: typeof MessageKind.leaveIntent;
  readonly ltime: number;
  readonly name: string;
  readonly incarnation: number;
  /** Erase the member from every member list at once instead of keeping it as left. */
  readonly prune: boolean;
}

/** Wire status codes for push-pull member states. */
export const WireStatus = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type WireStatus = (typeof WireStatus)[keyof typeof WireStatus];

export interface PushPullMember {
  readonly name: string;
  readonly addr: string;
  readonly incarnation: number;
  readonly status: WireStatus;
  readonly tags: MemberTags;
}

export interface PushPullEvent {
  readonly ltime: number;
  readonly name: string;
  readonly payload: Uint8Array;
}

export interface PushPullMessage {
  readonly kind: typeof MessageKind.pushPull;
  /** A join asks the receiver to answer even when it would otherwise be busy. */
  readonly join: boolean;
  readonly members: readonly PushPullMember[];
  readonly eventLTime: number;
  readonly events: readonly PushPullEvent[];
}

export type GossipMessage =
  | PingMessage
  | IndirectPingMessage
  | AckMessage
  | NackMessage
  | SuspectMessage
  | AliveMessage
  | DeadMessage
  | UserEventMessage
  | PushPullMessage
  | LeaveIntentMessage;
