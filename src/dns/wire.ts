import { decode, encode, type DecodedPacket, type Packet } from "dns-packet";
import { RCODES, type Rcode } from "./records.ts";

// The codec adapter over dns-packet: decoding never throws (malformed input becomes a value),
// and a header-only error reply can be built from the raw bytes of a request we could not parse.

export const DNS_HEADER_BYTES = 12;
const QR = 1 << 15;
const OPCODE_MASK = 0xf << 11;
const RD = 1 << 8;
const CD = 1 << 4;
const OPCODE_QUERY = 0;
const OPCODE_NOTIFY = 4;
/** The smallest question: the root name (1 byte), type and class. */
export const MIN_QUESTION_BYTES = 5;
/** The smallest resource record: the root name, type, class, TTL and RDLENGTH. */
export const MIN_RECORD_BYTES = 11;

/**
 * What the 12-byte header alone says about a request, checked before anything is decoded or
 * allocated (as Go's DNS server, which Consul uses, does with its MsgAcceptFunc):
 * - `ignore`: shorter than a header, or a response — no reply, so nothing can be reflected;
 * - `reject`: answered with the header alone: NOTIMP for opcodes other than QUERY/NOTIFY,
 *   FORMERR for anything but exactly one question, more records than a query carries (one
 *   answer for NOTIFY's SOA, one authority, two additionals for OPT and TSIG), or counts the
 *   packet is too short to hold;
 * - `accept`: worth decoding; the counts are small and the bytes can hold them.
 */
export type HeaderVerdict = { kind: "ignore" } | { kind: "reject"; rcode: "FORMERR" | "NOTIMP" } | { kind: "accept" };

export function screenHeader(bytes: Buffer): HeaderVerdict {
  if (bytes.length < DNS_HEADER_BYTES) return { kind: "ignore" };
  const flags = bytes.readUInt16BE(2);
  if ((flags & QR) !== 0) return { kind: "ignore" };
  const opcode = (flags & OPCODE_MASK) >> 11;
  if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) return { kind: "reject", rcode: "NOTIMP" };
  const qdcount = bytes.readUInt16BE(4);
  const ancount = bytes.readUInt16BE(6);
  const nscount = bytes.readUInt16BE(8);
  const arcount = bytes.readUInt16BE(10);
  if (qdcount !== 1 || ancount > 1 || nscount > 1 || arcount > 2) return { kind: "reject", rcode: "FORMERR" };
  const smallestPossible = DNS_HEADER_BYTES + qdcount * MIN_QUESTION_BYTES + (ancount + nscount + arcount) * MIN_RECORD_BYTES;
  if (smallestPossible > bytes.length) return { kind: "reject", rcode: "FORMERR" };
  return { kind: "accept" };
}

export type DecodeResult =
  | { ok: true; packet: DecodedPacket }
  /** `id` is absent when even the 12-byte header is missing: such input is dropped. */
  | { ok: false; id?: number; flags?: number };

export function decodeMessage(bytes: Buffer): DecodeResult {
  if (bytes.length < DNS_HEADER_BYTES) return { ok: false };
  try {
    return { ok: true, packet: decode(bytes) };
  } catch {
    return { ok: false, id: bytes.readUInt16BE(0), flags: bytes.readUInt16BE(2) };
  }
}

export function encodeMessage(packet: Packet): Buffer {
  return encode(packet);
}

/**
 * A reply with no sections, as Go's DNS server sends for a request it rejects or cannot parse:
 * the ID and opcode echoed, RD and CD copied only for a standard query.
 */
export function headerOnlyReply(id: number, requestFlags: number, rcode: Rcode): Buffer {
  const out = Buffer.alloc(DNS_HEADER_BYTES);
  out.writeUInt16BE(id, 0);
  const isQuery = (requestFlags & OPCODE_MASK) === 0;
  const copied = isQuery ? requestFlags & (RD | CD) : 0;
  out.writeUInt16BE(QR | (requestFlags & OPCODE_MASK) | copied | RCODES[rcode], 2);
  return out;
}

export function rcodeOf(bytes: Buffer): number {
  return bytes.length >= DNS_HEADER_BYTES ? bytes.readUInt16BE(2) & 0xf : -1;
}

export function isTruncated(bytes: Buffer): boolean {
  return bytes.length >= DNS_HEADER_BYTES && (bytes.readUInt16BE(2) & (1 << 9)) !== 0;
}
