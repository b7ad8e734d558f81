import { Packr } from "msgpackr";
import { MAX_ENTRY_DATA_BYTES } from "../raft/messages.ts";

// Length-prefixed msgpack frames: [u32be payload length][msgpack payload]. The decoder is fed
// whatever chunks TCP hands over and yields whole values; a frame claiming more than the limit
// is a protocol error (a peer speaking something else, or garbage), never a huge allocation.

export const FRAME_HEADER_BYTES = 4;
/**
 * Largest payload accepted: one Raft entry at its limit plus room for the message around it
 * (an AppendEntries, or a forwarded Raft.Apply). Snapshots travel in far smaller chunks.
 */
export const DEFAULT_MAX_FRAME_BYTES = MAX_ENTRY_DATA_BYTES + 1024 * 1024;

// copyBuffers: decoded byte arrays must not pin the whole read buffer for as long as they live.
const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true });

export class FrameError extends Error {
  readonly code = "frame-too-large";
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

export function encodeFrame(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  body.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** Cuts a TCP byte stream into whole frame payloads (the bytes after each length header). */
export class FrameSplitter {
  readonly #maxFrameBytes: number;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  /** Bytes the incomplete frame at the head of the buffer needs in all (0 while unknown). */
  #awaitingBytes = 0;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /**
   * Every complete payload now available, in order. A payload may share memory with `chunk`
   * (which Node may reuse): copy what must outlive the call.
   */
  push(chunk: Buffer): Buffer[] {
    this.#buffered.push(chunk);
    this.#bufferedBytes += chunk.byteLength;
    const out: Buffer[] = [];
    // A big frame arrives in many reads: join them once it is whole, not on every read.
    if (this.#bufferedBytes < FRAME_HEADER_BYTES || this.#bufferedBytes < this.#awaitingBytes) return out;
    this.#awaitingBytes = 0;
    let buf = this.#buffered.length === 1 ? this.#buffered[0] : Buffer.concat(this.#buffered, this.#bufferedBytes);
    let at = 0;
    while (buf.byteLength - at >= FRAME_HEADER_BYTES) {
      const length = buf.readUInt32BE(at);
      if (length > this.#maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds the ${this.#maxFrameBytes}-byte limit`);
      if (buf.byteLength - at - FRAME_HEADER_BYTES < length) {
        this.#awaitingBytes = FRAME_HEADER_BYTES + length;
        break;
      }
      out.push(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
      at += FRAME_HEADER_BYTES + length;
    }
    buf = buf.subarray(at);
    this.#buffered = buf.byteLength > 0 ? [buf] : [];
    this.#bufferedBytes = buf.byteLength;
    return out;
  }
}

/** Whole msgpack frames, decoded. */
export class FrameDecoder {
  readonly #splitter: FrameSplitter;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#splitter = new FrameSplitter(options);
  }

  /** Every complete frame now available, decoded, in order. */
  push(chunk: Buffer): unknown[] {
    return this.#splitter.push(chunk).map((payload) => packr.unpack(payload));
  }
}
