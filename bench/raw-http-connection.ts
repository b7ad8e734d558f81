import { connect, type Socket } from "node:net";

// One keep-alive HTTP/1.1 connection over a plain socket, one request at a time. Load
// generators on this 2-core machine share the CPU with the agent they measure: node:http's
// client (ClientRequest, IncomingMessage, agent pool bookkeeping) cost the scale suite's
// registration client ~85-145 µs per request, more than the bare server it talks to
// (bench/bare-server.ts: ~45 µs), so the harness, not the agent, set much of the rate.
// This costs ~30 µs. Answers carry a Content-Length or come chunked (the agent sends a cold
// list answer while it encodes it, chunked).

const HEADER_END = Buffer.from("\r\n\r\n");

export interface RawAnswer {
  status: number;
  /** The body; for a counted request, only its first bytes (enough for an error's text). */
  body: Buffer;
  /** The body's length. */
  bytes: number;
}

/** What a counted request keeps of its body. */
const COUNTED_KEEP_BYTES = 512;

interface CountedAnswer {
  status: number;
  kept: Buffer;
  /** Most body bytes kept. */
  keep: number;
  bytes: number;
  due: number;
  /** Set for a chunked body: where its framing is. */
  chunked?: ChunkedState;
}

interface ChunkedState {
  /** The chunk-size line read so far (it may be split across reads). */
  line: string;
  /** Framing bytes to skip ("\r\n" after a chunk's data, or after the last chunk). */
  skip: number;
  /** Whether the zero-size chunk was seen: the body ends after its skip. */
  last: boolean;
}

export class RawHttpConnection {
  readonly #socket: Socket;
  readonly #host: string;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: RawAnswer) => void; reject: (err: Error) => void; counted: boolean } | undefined;
  /** A counted answer past its head: its status, first bytes and how much of its body is still due. */
  #counting: CountedAnswer | undefined;
  #failure: Error | undefined;

  constructor(base: string) {
    const url = new URL(base);
    this.#host = url.host;
    this.#socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.#socket.on("data", (chunk: Buffer) => this.#received(chunk));
    const fail = (err: Error): void => {
      this.#failure ??= err;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(err);
    };
    this.#socket.on("error", fail);
    this.#socket.on("close", () => fail(new Error("connection closed by the server")));
  }

  /**
   * Sends one request and resolves with its answer (the previous one must have been answered).
   * `counted`: the body is counted as it arrives and only its first bytes kept — a reader
   * pulling megabytes per answer neither gathers nor copies them.
   */
  request(method: string, path: string, body: string | Buffer = "", counted = false): Promise<RawAnswer> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#waiting) return Promise.reject(new Error("RawHttpConnection: one request at a time"));
    const length = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    return new Promise<RawAnswer>((resolve, reject) => {
      this.#waiting = { resolve, reject, counted };
      const head = `${method} ${path} HTTP/1.1\r\nHost: ${this.#host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
      this.#socket.write(typeof body === "string" ? head + body : Buffer.concat([Buffer.from(head, "latin1"), body]));
    });
  }

  close(): void {
    this.#failure ??= new Error("closed");
    this.#socket.destroy();
  }

  #received(chunk: Buffer): void {
    if (this.#counting) {
      this.#count(chunk);
      return;
    }
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const headerEnd = this.#buffered.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.#buffered.subarray(0, headerEnd).toString("latin1");
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    if (!length && !chunked) {
      this.#socket.destroy(new Error(`answer without Content-Length: ${head.split("\r\n")[0]}`));
      return;
    }
    if (this.#waiting?.counted === true || chunked) {
      const rest = this.#buffered.subarray(headerEnd + HEADER_END.length);
      this.#buffered = Buffer.alloc(0);
      const keep = this.#waiting?.counted === true ? COUNTED_KEEP_BYTES : Number.POSITIVE_INFINITY;
      this.#counting = length
        ? { status, kept: Buffer.alloc(0), keep, bytes: Number(length[1]), due: Number(length[1]) }
        : { status, kept: Buffer.alloc(0), keep, bytes: 0, due: 0, chunked: { line: "", skip: 0, last: false } };
      if (rest.length > 0 || !chunked) this.#count(rest);
      return;
    }
    if (!length) return;
    const end = headerEnd + HEADER_END.length + Number(length[1]);
    if (this.#buffered.length < end) return;
    const answer = { status, body: this.#buffered.subarray(headerEnd + HEADER_END.length, end), bytes: Number(length[1]) };
    this.#buffered = this.#buffered.subarray(end);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(answer);
  }

  #count(chunk: Buffer): void {
    const counting = this.#counting as CountedAnswer;
    if (counting.chunked) {
      this.#countChunked(counting, counting.chunked, chunk);
      return;
    }
    const taken = Math.min(chunk.length, counting.due);
    this.#keep(counting, chunk.subarray(0, taken));
    counting.due -= taken;
    if (counting.due > 0) return;
    this.#finish(counting, chunk.subarray(taken));
  }

  #keep(counting: CountedAnswer, data: Buffer): void {
    if (counting.kept.length < counting.keep) counting.kept = Buffer.concat([counting.kept, data.subarray(0, Math.min(data.length, counting.keep - counting.kept.length))]);
  }

  /** A chunked body: chunk-size lines, data, CRLFs, a zero-size chunk and the final CRLF (no trailers). */
  #countChunked(counting: CountedAnswer, state: ChunkedState, chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (counting.due > 0) {
        const taken = Math.min(chunk.length - pos, counting.due);
        this.#keep(counting, chunk.subarray(pos, pos + taken));
        counting.bytes += taken;
        counting.due -= taken;
        pos += taken;
        if (counting.due === 0) state.skip = 2;
        continue;
      }
      if (state.skip > 0) {
        const skipped = Math.min(chunk.length - pos, state.skip);
        state.skip -= skipped;
        pos += skipped;
        if (state.skip === 0 && state.last) {
          this.#finish(counting, chunk.subarray(pos));
          return;
        }
        continue;
      }
      const lineEnd = chunk.indexOf("\r\n", pos, "latin1");
      if (lineEnd < 0) {
        state.line += chunk.toString("latin1", pos);
        return;
      }
      const size = parseInt(state.line + chunk.toString("latin1", pos, lineEnd), 16);
      state.line = "";
      pos = lineEnd + 2;
      if (Number.isNaN(size)) {
        this.#socket.destroy(new Error("bad chunk size"));
        return;
      }
      if (size === 0) {
        state.last = true;
        state.skip = 2;
      } else counting.due = size;
    }
  }

  #finish(counting: CountedAnswer, rest: Buffer): void {
    this.#counting = undefined;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ status: counting.status, body: counting.kept, bytes: counting.bytes });
    // Pipelining is not used: anything after the body would be the next answer's start.
    if (rest.length > 0) this.#received(rest);
  }
}
