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

/**
 * Frames with a payload of at least this size are assembled in a buffer of their own as their
 * bytes arrive (a 64 KiB read at a time), instead of joined in one copy once whole: joining a
 * 77 MB frame held the event loop for tens of ms.
 */
export const LARGE_FRAME_BYTES = 64 * 1024;

/** Cuts a TCP byte stream into whole frame payloads (the bytes after each length header). */
export class FrameSplitter {
  readonly #maxFrameBytes: number;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  /** Bytes the incomplete frame at the head of the buffer needs in all (0 while unknown). */
  #awaitingBytes = 0;
  /** A large frame being filled in as its bytes arrive. */
  #large: { payload: Buffer; filled: number } | undefined;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /**
   * Every complete payload now available, in order. A payload may share memory with `chunk`
   * (which Node may reuse): copy what must outlive the call — except a payload of at least
   * LARGE_FRAME_BYTES, which is a buffer of its own that nothing else holds.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let rest = chunk;
    const large = this.#large;
    if (large !== undefined) {
      const take = Math.min(rest.byteLength, large.payload.byteLength - large.filled);
      rest.copy(large.payload, large.filled, 0, take);
      large.filled += take;
      if (large.filled < large.payload.byteLength) return out;
      this.#large = undefined;
      out.push(large.payload);
      rest = rest.subarray(take);
      if (rest.byteLength === 0) return out;
    }
    this.#buffered.push(rest);
    this.#bufferedBytes += rest.byteLength;
    // A frame arriving in several reads: join them once it is whole, not on every read.
    if (this.#bufferedBytes < FRAME_HEADER_BYTES || this.#bufferedBytes < this.#awaitingBytes) return out;
    this.#awaitingBytes = 0;
    let buf = this.#buffered.length === 1 ? this.#buffered[0] : Buffer.concat(this.#buffered, this.#bufferedBytes);
    let at = 0;
    while (buf.byteLength - at >= FRAME_HEADER_BYTES) {
      const length = buf.readUInt32BE(at);
      if (length > this.#maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds the ${this.#maxFrameBytes}-byte limit`);
      const available = buf.byteLength - at - FRAME_HEADER_BYTES;
      if (available < length && length >= LARGE_FRAME_BYTES) {
        // Everything left belongs to this frame: it moves to the frame's own buffer.
        const payload = Buffer.allocUnsafeSlow(length);
        buf.copy(payload, 0, at + FRAME_HEADER_BYTES);
        this.#large = { payload, filled: available };
        at = buf.byteLength;
        break;
      }
      if (available < length) {
        this.#awaitingBytes = FRAME_HEADER_BYTES + length;
        break;
      }
      const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
      // Whole in what one read brought: copied out, so it too is a buffer of its own.
      out.push(length >= LARGE_FRAME_BYTES ? Buffer.from(Uint8Array.prototype.slice.call(payload).buffer) : payload);
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
