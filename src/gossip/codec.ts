import { Packr } from "msgpackr";
import type { MemberTags } from "./member-state.ts";
import { MessageKind, WireStatus } from "./messages.ts";
import type { GossipMessage, PushPullEvent, PushPullMember } from "./messages.ts";

// Byte layout: one kind byte, then the message's fields as a msgpack array (positional, so a
// ping costs ~40 bytes rather than a map's ~80). A compound packet is
//   [kind=compound u8][count u8][length u16be × count][message bytes …]
// as memberlist lays it out, so many broadcasts share one UDP datagram.

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Bytes a compound adds per part (its u16 length) — the budget unit for piggybacking. */
export const COMPOUND_PART_OVERHEAD_BYTES = 2;
/** Bytes a compound adds once (kind and count). */
export const COMPOUND_HEADER_BYTES = 2;
const MAX_COMPOUND_PARTS = 255;

export class GossipCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GossipCodecError";
  }
}

export function encodeMessage(msg: GossipMessage): Uint8Array {
  return withKind(msg.kind, fieldsOf(msg));
}

function withKind(kind: MessageKind, fields: unknown[]): Uint8Array {
  const body = packr.pack(fields);
  const out = new Uint8Array(body.length + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

function fieldsOf(msg: GossipMessage): unknown[] {
  switch (msg.kind) {
    case MessageKind.ping:
      return [msg.seq, msg.target, msg.sourceName, msg.sourceAddr];
    case MessageKind.indirectPing:
      return [msg.seq, msg.target, msg.targetAddr, msg.wantNack, msg.sourceName, msg.sourceAddr];
    case MessageKind.ack:
      return msg.payload && msg.payload.length > 0 ? [msg.seq, msg.payload] : [msg.seq];
    case MessageKind.nack:
      return [msg.seq];
    case MessageKind.suspect:
    case MessageKind.dead:
      return [msg.incarnation, msg.name, msg.from];
    case MessageKind.alive:
      return [msg.incarnation, msg.name, msg.addr, msg.tags];
    case MessageKind.userEvent:
      return [msg.ltime, msg.name, msg.payload, msg.coalesce];
    case MessageKind.leaveIntent:
      return [msg.ltime, msg.name, msg.incarnation, msg.prune];
    case MessageKind.pushPull:
      return [
        msg.join,
        msg.members.map((m) => [m.name, m.addr, m.incarnation, m.status, m.tags]),
        msg.eventLTime,
        msg.events.map((e) => [e.ltime, e.name, e.payload]),
      ];
  }
}

/** Packs already-encoded messages into as few compound packets as the part limit allows. */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array[] {
  if (parts.length === 1) return [parts[0]];
  const out: Uint8Array[] = [];
  for (let start = 0; start < parts.length; start += MAX_COMPOUND_PARTS) {
    const chunk = parts.slice(start, start + MAX_COMPOUND_PARTS);
    let size = COMPOUND_HEADER_BYTES + COMPOUND_PART_OVERHEAD_BYTES * chunk.length;
    for (const p of chunk) size += p.length;
    const buf = new Uint8Array(size);
    const view = new DataView(buf.buffer);
    buf[0] = MessageKind.compound;
    buf[1] = chunk.length;
    let offset = COMPOUND_HEADER_BYTES;
    for (const p of chunk) {
      view.setUint16(offset, p.length);
      offset += 2;
    }
    for (const p of chunk) {
      buf.set(p, offset);
      offset += p.length;
    }
    out.push(buf);
  }
  return out;
}

/** Decodes a packet into its messages, flattening a compound. Throws GossipCodecError. */
export function decodePacket(bytes: Uint8Array): GossipMessage[] {
  if (bytes.length < 1) throw new GossipCodecError("empty packet");
  if (bytes[0] !== MessageKind.compound) return [decodeMessage(bytes)];
  if (bytes.length < COMPOUND_HEADER_BYTES) throw new GossipCodecError("truncated compound header");
  const count = bytes[1];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = COMPOUND_HEADER_BYTES + COMPOUND_PART_OVERHEAD_BYTES * count;
  if (offset > bytes.length) throw new GossipCodecError("truncated compound lengths");
  const out: GossipMessage[] = [];
  for (let i = 0; i < count; i++) {
    const len = view.getUint16(COMPOUND_HEADER_BYTES + 2 * i);
    if (offset + len > bytes.length) throw new GossipCodecError("truncated compound part");
    const part = bytes.subarray(offset, offset + len);
    if (part[0] === MessageKind.compound) throw new GossipCodecError("nested compound");
    out.push(decodeMessage(part));
    offset += len;
  }
  return out;
}

export function decodeMessage(bytes: Uint8Array): GossipMessage {
  let fields: unknown;
  try {
    fields = packr.unpack(bytes.subarray(1));
  } catch (cause) {
    throw new GossipCodecError(`malformed message body: ${String(cause)}`);
  }
  if (!Array.isArray(fields)) throw new GossipCodecError("message body is not an array");
  const f = new Fields(fields);
  switch (bytes[0]) {
    case MessageKind.ping:
      return { kind: MessageKind.ping, seq: f.uint(), target: f.str(), sourceName: f.str(), sourceAddr: f.str() };
    case MessageKind.indirectPing:
      return {
        kind: MessageKind.indirectPing,
        seq: f.uint(),
        target: f.str(),
        targetAddr: f.str(),
        wantNack: f.bool(),
        sourceName: f.str(),
        sourceAddr: f.str(),
      };
    case MessageKind.ack: {
      const seq = f.uint();
      return fields.length > 1 ? { kind: MessageKind.ack, seq, payload: f.bytes() } : { kind: MessageKind.ack, seq };
    }
    case MessageKind.nack:
      return { kind: MessageKind.nack, seq: f.uint() };
    case MessageKind.suspect:
      return { kind: MessageKind.suspect, incarnation: f.uint(), name: f.str(), from: f.str() };
    case MessageKind.dead:
      return { kind: MessageKind.dead, incarnation: f.uint(), name: f.str(), from: f.str() };
    case MessageKind.alive:
      return { kind: MessageKind.alive, incarnation: f.uint(), name: f.str(), addr: f.str(), tags: f.tags() };
    case MessageKind.userEvent:
      return { kind: MessageKind.userEvent, ltime: f.uint(), name: f.str(), payload: f.bytes(), coalesce: f.bool() };
    case MessageKind.leaveIntent:
      return { kind: MessageKind.leaveIntent, ltime: f.uint(), name: f.str(), incarnation: f.uint(), prune: f.bool() };
    case MessageKind.pushPull:
      return {
        kind: MessageKind.pushPull,
        join: f.bool(),
        members: f.list((m) => pushPullMember(m)),
        eventLTime: f.uint(),
        events: f.list((e) => pushPullEvent(e)),
      };
    default:
      throw new GossipCodecError(`unknown message kind ${bytes[0]}`);
  }
}

const WIRE_STATUSES: ReadonlySet<number> = new Set(Object.values(WireStatus));

function pushPullMember(f: Fields): PushPullMember {
  const name = f.str();
  const addr = f.str();
  const incarnation = f.uint();
  const status = f.uint();
  if (!WIRE_STATUSES.has(status)) throw new GossipCodecError(`unknown member status ${status}`);
  return { name, addr, incarnation, status: status as WireStatus, tags: f.tags() };
}

function pushPullEvent(f: Fields): PushPullEvent {
  return { ltime: f.uint(), name: f.str(), payload: f.bytes() };
}

/** Positional reader that names what it expected when a peer sends garbage. */
class Fields {
  readonly #values: unknown[];
  #i = 0;

  constructor(values: unknown[]) {
    this.#values = values;
  }

  #next(): unknown {
    if (this.#i >= this.#values.length) throw new GossipCodecError(`missing field ${this.#i}`);
    return this.#values[this.#i++];
  }

  uint(): number {
    const v = this.#next();
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new GossipCodecError(`field ${this.#i - 1}: expected unsigned integer`);
    return v;
  }

  str(): string {
    const v = this.#next();
    if (typeof v !== "string") throw new GossipCodecError(`field ${this.#i - 1}: expected string`);
    return v;
  }

  bool(): boolean {
    const v = this.#next();
    if (typeof v !== "boolean") throw new GossipCodecError(`field ${this.#i - 1}: expected boolean`);
    return v;
  }

  bytes(): Uint8Array {
    const v = this.#next();
    if (!(v instanceof Uint8Array)) throw new GossipCodecError(`field ${this.#i - 1}: expected bytes`);
    return v;
  }

  tags(): MemberTags {
    const v = this.#next();
    if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
      throw new GossipCodecError(`field ${this.#i - 1}: expected tag map`);
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== "string") throw new GossipCodecError(`tag ${k}: expected string`);
      out[k] = val;
    }
    return out;
  }

  list<T>(read: (f: Fields) => T): T[] {
    const v = this.#next();
    if (!Array.isArray(v)) throw new GossipCodecError(`field ${this.#i - 1}: expected list`);
    return v.map((item: unknown) => {
      if (!Array.isArray(item)) throw new GossipCodecError("list item is not an array");
      return read(new Fields(item));
    });
  }
}

/** Encoded size of a tag map, checked against metaMaxBytes before it is advertised. */
export function encodedTagsBytes(tags: MemberTags): number {
  return packr.pack(tags).length;
}
