import { decode, encode, type DecodedPacket, type Packet } from "dns-packet";
import { RCODES, type Rcode } from "./records.ts";

// The codec adapter over dns-packet: decoding never throws (malformed input becomes a value),
// and a header-only error reply can be built from the raw bytes of a request we could not parse.

export const DNS_HEADER_BYTES = 12;
const QR = 1 << 15;
const OPCODE_MASK = 0xf << 11;
const RD = 1 << 8;

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

export function isResponse(bytes: Buffer): boolean {
  return bytes.length >= DNS_HEADER_BYTES && (bytes.readUInt16BE(2) & QR) !== 0;
}

export function encodeMessage(packet: Packet): Buffer {
  return encode(packet);
}

/** A reply with no sections: FORMERR for input we could not parse, as Go's DNS server sends. */
export function headerOnlyReply(id: number, requestFlags: number, rcode: Rcode): Buffer {
  const out = Buffer.alloc(DNS_HEADER_BYTES);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(QR | (requestFlags & OPCODE_MASK) | (requestFlags & RD) | RCODES[rcode], 2);
  return out;
}

export function rcodeOf(bytes: Buffer): number {
  return bytes.length >= DNS_HEADER_BYTES ? bytes.readUInt16BE(2) & 0xf : -1;
}

export function isTruncated(bytes: Buffer): boolean {
  return bytes.length >= DNS_HEADER_BYTES && (bytes.readUInt16BE(2) & (1 << 9)) !== 0;
}
