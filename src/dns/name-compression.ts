import { DNS_HEADER_BYTES } from "./wire.ts";

// RFC 1035 4.1.4 name compression as a pass over a message dns-packet encoded (which writes
// every name in full). Consul's replies are compressed unless dns_config.disable_compression,
// so ours match its sizes. Owner names and the names inside CNAME, NS, PTR and SOA data are
// compressed; SRV targets are written in full (RFC 2782) but, like every name, may be pointed
// to. Suffixes match case-sensitively so each name reads back exactly as it was encoded.
// Input we did not expect (a malformed message) comes back unchanged.

const POINTER_LIMIT = 0x3fff;
const TYPE_NS = 2;
const TYPE_CNAME = 5;
const TYPE_SOA = 6;
const TYPE_PTR = 12;
/** SOA RDATA after its two names: serial, refresh, retry, expire, minimum. */
const SOA_FIXED_BYTES = 20;
/** type, class, TTL, RDLENGTH */
const RR_FIXED_BYTES = 10;

class Compressor {
  readonly #in: Buffer;
  readonly #out: Buffer;
  readonly #suffixes = new Map<string, number>();
  inPos = DNS_HEADER_BYTES;
  outPos = DNS_HEADER_BYTES;

  constructor(input: Buffer) {
    this.#in = input;
    this.#out = Buffer.allocUnsafe(input.length);
    input.copy(this.#out, 0, 0, DNS_HEADER_BYTES);
  }

  result(): Buffer {
    if (this.inPos !== this.#in.length) throw new RangeError("trailing bytes");
    return this.#out.subarray(0, this.outPos);
  }

  copy(n: number): void {
    if (this.inPos + n > this.#in.length) throw new RangeError("short message");
    this.#in.copy(this.#out, this.outPos, this.inPos, this.inPos + n);
    this.inPos += n;
    this.outPos += n;
  }

  /** Reads an uncompressed name and writes it, ending in a pointer where a suffix was seen. */
  name(): void {
    const labels: Buffer[] = [];
    for (;;) {
      if (this.inPos >= this.#in.length) throw new RangeError("short name");
      const len = this.#in[this.inPos++];
      if (len === 0) break;
      if (len > 63 || this.inPos + len > this.#in.length) throw new RangeError("bad label");
      labels.push(this.#in.subarray(this.inPos, this.inPos + len));
      this.inPos += len;
    }
    const keys: string[] = [];
    let key = "";
    for (let i = labels.length - 1; i >= 0; i--) {
      key = key === "" ? labels[i].toString("latin1") : `${labels[i].toString("latin1")}.${key}`;
      keys[i] = key;
    }
    for (let i = 0; i < labels.length; i++) {
      const seen = this.#suffixes.get(keys[i]);
      if (seen !== undefined) {
        this.#out.writeUInt16BE(0xc000 | seen, this.outPos);
        this.outPos += 2;
        return;
      }
      if (this.outPos <= POINTER_LIMIT) this.#suffixes.set(keys[i], this.outPos);
      this.#out[this.outPos++] = labels[i].length;
      labels[i].copy(this.#out, this.outPos);
      this.outPos += labels[i].length;
    }
    this.#out[this.outPos++] = 0;
  }

  u16(): number {
    if (this.inPos + 2 > this.#in.length) throw new RangeError("short message");
    return this.#in.readUInt16BE(this.inPos);
  }

  record(): void {
    this.name();
    const type = this.u16();
    this.copy(RR_FIXED_BYTES - 2);
    const rdlength = this.u16();
    this.inPos += 2;
    const rdlengthAt = this.outPos;
    this.outPos += 2;
    const rdataEnd = this.inPos + rdlength;
    if (type === TYPE_CNAME || type === TYPE_NS || type === TYPE_PTR) {
      this.name();
    } else if (type === TYPE_SOA) {
      this.name();
      this.name();
      this.copy(SOA_FIXED_BYTES);
    } else {
      this.copy(rdlength);
    }
    if (this.inPos !== rdataEnd) throw new RangeError("RDATA length mismatch");
    this.#out.writeUInt16BE(this.outPos - rdlengthAt - 2, rdlengthAt);
  }
}

export function compressNames(message: Buffer): Buffer {
  if (message.length < DNS_HEADER_BYTES) return message;
  const questions = message.readUInt16BE(4);
  const records = message.readUInt16BE(6) + message.readUInt16BE(8) + message.readUInt16BE(10);
  try {
    const c = new Compressor(message);
    for (let i = 0; i < questions; i++) {
      c.name();
      c.copy(4);
    }
    for (let i = 0; i < records; i++) c.record();
    return c.result();
  } catch {
    return message;
  }
}
