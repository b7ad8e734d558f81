import { connect, type Socket } from "node:net";

// One keep-alive HTTP/1.1 connection over a plain socket, one request at a time. Load
// generators on this 2-core machine share the CPU with the agent they measure: node:http's
// client (ClientRequest, IncomingMessage, agent pool bookkeeping) cost the scale suite's
// registration client ~85-145 µs per request, more than the bare server it talks to
// (bench/bare-server.ts: ~45 µs), so the harness, not the agent, set much of the rate.
// This costs ~30 µs. Answers must carry Content-Length (the agent's always do).

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
  bytes: number;
  due: number;
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
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      this.#socket.destroy(new Error(`answer without Content-Length: ${head.split("\r\n")[0]}`));
      return;
    }
    const status = Number(head.slice(9, 12));
    if (this.#waiting?.counted === true) {
      const rest = this.#buffered.subarray(headerEnd + HEADER_END.length);
      this.#buffered = Buffer.alloc(0);
      this.#counting = { status, kept: Buffer.alloc(0), bytes: Number(length[1]), due: Number(length[1]) };
      this.#count(rest);
      return;
    }
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
    const taken = Math.min(chunk.length, counting.due);
    if (counting.kept.length < COUNTED_KEEP_BYTES) counting.kept = Buffer.concat([counting.kept, chunk.subarray(0, Math.min(taken, COUNTED_KEEP_BYTES - counting.kept.length))]);
    counting.due -= taken;
    if (counting.due > 0) return;
    this.#counting = undefined;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ status: counting.status, body: counting.kept, bytes: counting.bytes });
    // Pipelining is not used: anything after the body would be the next answer's start.
    if (taken < chunk.length) this.#received(chunk.subarray(taken));
  }
}
