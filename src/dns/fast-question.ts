import type { Packet, RecordType } from "dns-packet";
import { DNS_HEADER_BYTES } from "./wire.ts";

// A byte-level parser for the one request shape that dominates DNS traffic: a standard query
// with one IN question made of plain labels, and at most an option-less EDNS0 OPT record.
// Anything else (compression pointers, odd label bytes, other classes, EDNS options such as
// ECS, extra sections, trailing bytes) returns undefined and goes through dns-packet, so the
// fast path never has to be right about an unusual packet — it only has to recognise it.

export interface SimpleQuery {
  id: number;
  flags: number;
  /** As dns-packet would decode it: labels joined by ".", case preserved, no trailing dot. */
  name: string;
  /** dns-packet's type name. */
  type: SimpleQueryType;
  /** The OPT record's UDP payload size, or undefined without EDNS0. */
  udpPayloadSize: number | undefined;
  /** Start and end of the question section (name, type, class) in the message. */
  questionStart: number;
  questionEnd: number;
}

/** The query types the fast path knows by number; any other type (ANY included) falls back to dns-packet. */
const SIMPLE_TYPES = { 1: "A", 2: "NS", 6: "SOA", 16: "TXT", 28: "AAAA", 33: "SRV" } as const satisfies Record<number, RecordType>;
export type SimpleQueryType = (typeof SIMPLE_TYPES)[keyof typeof SIMPLE_TYPES];

const QR = 1 << 15;
const OPCODE_MASK = 0xf << 11;
const CLASS_IN = 1;
const TYPE_OPT = 41;
const MAX_LABEL_BYTES = 63;
/** dns-packet's limit on a decoded name (sum of label lengths plus one per label). */
const MAX_NAME_BYTES = 254;
/** Fixed part of an OPT record after its root name: type, class, TTL, RDLENGTH. */
const OPT_FIXED_BYTES = 10;

function isSimpleType(code: number): code is keyof typeof SIMPLE_TYPES {
  return Object.hasOwn(SIMPLE_TYPES, code);
}

/** Letters, digits, '-' and '_': bytes that decode to themselves in every text codec. */
function isPlainLabelByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f;
}

export function parseSimpleQuery(msg: Buffer): SimpleQuery | undefined {
  if (msg.length < DNS_HEADER_BYTES + 5) return undefined;
  const flags = msg.readUInt16BE(2);
  if ((flags & (QR | OPCODE_MASK)) !== 0) return undefined;
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0 || arcount > 1) return undefined;

  let offset = DNS_HEADER_BYTES;
  let name = "";
  let nameBytes = 0;
  for (;;) {
    if (offset >= msg.length) return undefined;
    const len = msg[offset++];
    if (len === 0) break;
    if (len > MAX_LABEL_BYTES || offset + len > msg.length) return undefined;
    nameBytes += len + 1;
    if (nameBytes > MAX_NAME_BYTES) return undefined;
    for (let i = offset; i < offset + len; i++) if (!isPlainLabelByte(msg[i])) return undefined;
    name += (name === "" ? "" : ".") + msg.toString("latin1", offset, offset + len);
    offset += len;
  }
  // The root name is rare and answered by the general path.
  if (name === "" || offset + 4 > msg.length) return undefined;
  const typeCode = msg.readUInt16BE(offset);
  if (!isSimpleType(typeCode) || msg.readUInt16BE(offset + 2) !== CLASS_IN) return undefined;
  const questionEnd = offset + 4;
  offset = questionEnd;

  let udpPayloadSize: number | undefined;
  if (arcount === 1) {
    // Root owner name, then type OPT with an empty RDATA: anything else is not "simple".
    if (offset + 1 + OPT_FIXED_BYTES !== msg.length || msg[offset] !== 0) return undefined;
    if (msg.readUInt16BE(offset + 1) !== TYPE_OPT || msg.readUInt16BE(offset + 9) !== 0) return undefined;
    udpPayloadSize = msg.readUInt16BE(offset + 3);
    offset += 1 + OPT_FIXED_BYTES;
  }
  if (offset !== msg.length) return undefined;
  return { id: msg.readUInt16BE(0), flags, name, type: SIMPLE_TYPES[typeCode], udpPayloadSize, questionStart: DNS_HEADER_BYTES, questionEnd };
}

/** The request as dns-packet would have decoded it, for the reply builders. */
export function simpleQueryPacket(q: SimpleQuery): Packet {
  return {
    type: "query",
    id: q.id,
    flags: q.flags,
    questions: [{ name: q.name, type: q.type, class: "IN" }],
    answers: [],
    authorities: [],
    additionals:
      q.udpPayloadSize === undefined
        ? []
        : [{ type: "OPT", name: ".", udpPayloadSize: q.udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  };
}
