// Stream reuse between two Consulate sidecars: app connections carried one after another over
// one kept mTLS connection, so a new app connection costs a few frames instead of a TLS
// handshake on each side (the handshake is most of a new connection's CPU). A dialler asks for
// it with an SNI prefix, and only when the destination's registration advertises it, so plain
// mTLS clients (Envoy, the SDK) and servers never see a frame.
//
// Frames: 1 byte type, 4 bytes big-endian length, payload. The dialler opens a stream (OPEN);
// the listener authorises it, dials the app and answers OPENED (or RESET: refused). Only then
// does the dialler read from its app, so a kept connection found dead before OPENED has
// consumed nothing and the app connection can go to a fresh dial. Both sides send DATA, each
// ends its direction with FIN; once both FINs have crossed, the connection is idle and may
// carry the next OPEN. RESET aborts the stream and the connection with it, so nothing of an
// aborted stream can leak into the next one.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/** SNI prefix a dialler uses to ask for framed streams. */
export const STREAM_REUSE_SNI_PREFIX = "stream-reuse-v1.";

const OPEN = 1;
const DATA = 2;
const FIN = 3;
const RESET = 4;
const OPENED = 5;
const HEADER_BYTES = 5;
/** Larger than any chunk a socket reads; a bigger length means a broken peer. */
const MAX_PAYLOAD = 16 * 1024 * 1024;

function frame(type: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h[0] = type;
  h.writeUInt32BE(length, 1);
  return h;
}

const OPEN_FRAME = frame(OPEN, 0);
const FIN_FRAME = frame(FIN, 0);
const RESET_FRAME = frame(RESET, 0);
const OPENED_FRAME = frame(OPENED, 0);

/** Splits a byte stream into frames; returns false on a malformed one. */
class FrameReader {
  #pending: Buffer | undefined;

  get empty(): boolean {
    return this.#pending === undefined;
  }

  push(chunk: Buffer, onFrame: (type: number, payload: Buffer) => void): boolean {
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    while (buf.length >= HEADER_BYTES) {
      const type = buf[0];
      const length = buf.readUInt32BE(1);
      if (type < OPEN || type > OPENED || length > MAX_PAYLOAD || (type !== DATA && length !== 0)) return false;
      if (buf.length < HEADER_BYTES + length) break;
      onFrame(type, buf.subarray(HEADER_BYTES, HEADER_BYTES + length));
      buf = buf.subarray(HEADER_BYTES + length);
    }
    if (buf.length > 0) this.#pending = buf;
    return true;
  }
}

/** Sends `data` as one DATA frame (one TLS record); false when the connection is buffering. */
function sendData(conn: Socket, data: Buffer): boolean {
  conn.cork();
  conn.write(frame(DATA, data.length));
  const ok = conn.write(data);
  conn.uncork();
  return ok;
}

/** Copies `from`'s bytes into DATA frames on `conn`, pausing `from` while `conn` is full. */
function forward(from: Socket, conn: Socket): (d: Buffer) => void {
  return (d) => {
    if (!sendData(conn, d)) {
      from.pause();
      conn.once("drain", () => from.resume());
    }
  };
}

/**
 * How a stream over a kept connection ended: "reusable" (both directions ended cleanly, the
 * connection may carry another), "closed" (both sockets destroyed), or "lost" (the connection
 * died before the listener took the stream: the app socket is untouched, still paused, and
 * may be dialled again).
 */
export type StreamOutcome = "reusable" | "closed" | "lost";

/** Dialler side: carries `app` (paused) as one stream over the idle connection `conn`. */
export function relayStreamOverConnection(app: Socket, conn: TLSSocket, done: (outcome: StreamOutcome) => void): void {
  const reader = new FrameReader();
  let opened = false;
  let sentFin = false;
  let gotFin = false;
  let over = false;
  const onAppData = forward(app, conn);
  const finish = (outcome: StreamOutcome): void => {
    if (over) return;
    over = true;
    app.off("data", onAppData);
    app.off("end", onAppEnd);
    app.off("close", onAppClose);
    conn.off("data", onConnData);
    conn.off("close", onConnGone);
    conn.off("end", onConnGone);
    if (outcome === "reusable") {
      // Idle in a pool: nothing may be read (and lost) until the next stream takes it.
      conn.pause();
    } else {
      if (!conn.destroyed && conn.writable) conn.write(RESET_FRAME);
      conn.destroy();
      if (outcome === "closed") app.destroy();
    }
    done(outcome);
  };
  const settle = (): void => {
    if (sentFin && gotFin) finish(reader.empty ? "reusable" : "closed");
  };
  const onAppEnd = (): void => {
    conn.write(FIN_FRAME);
    sentFin = true;
    settle();
  };
  // The app went away before both directions ended: the far side must drop the stream too.
  const onAppClose = (): void => finish("closed");
  const onConnGone = (): void => finish(opened ? "closed" : "lost");
  const onConnData = (chunk: Buffer): void => {
    const ok = reader.push(chunk, (type, payload) => {
      if (over) return;
      if (!opened) {
        if (type !== OPENED) return finish("closed");
        opened = true;
        app.on("data", onAppData);
        app.once("end", onAppEnd);
        app.resume();
      } else if (type === DATA && !gotFin) {
        if (!app.write(payload)) {
          conn.pause();
          app.once("drain", () => conn.resume());
        }
      } else if (type === FIN && !gotFin) {
        gotFin = true;
        app.end();
        settle();
      } else finish("closed");
    });
    if (!ok) finish("closed");
  };
  app.once("close", onAppClose);
  conn.on("data", onConnData);
  conn.once("close", onConnGone);
  conn.once("end", onConnGone);
  conn.write(OPEN_FRAME);
  conn.resume();
}

export interface StreamServerHooks {
  /** Authorises the stream and dials the local app; undefined refuses it. */
  open: () => Promise<Socket | undefined>;
  /** Called when a stream starts; the returned function when it ends (for draining). */
  track: () => () => void;
  /** How long an idle connection is kept before it is closed. */
  idleTimeoutMs: number;
}

/** The listener side's hold on one connection serving framed streams. */
export interface StreamServer {
  /**
   * Takes the connection out of service: closed now when idle, else once the stream in flight
   * has ended (both directions) instead of waiting for the next one. A dialler whose next OPEN
   * meets the closed connection has lost nothing and dials afresh.
   */
  retire(): void;
}

/** Listener side: serves framed streams on an admitted connection until either side closes it. */
export function serveStreams(conn: TLSSocket, hooks: StreamServerHooks): StreamServer {
  interface Stream {
    app: Socket | undefined;
    detach: () => void;
    queued: Buffer[];
    gotFin: boolean;
    sentFin: boolean;
    release: () => void;
  }
  const reader = new FrameReader();
  let stream: Stream | undefined;
  let retired = false;
  /** Ends an idle retired connection: no RESET, which a dialler could read as its next stream's answer. */
  const close = (): void => {
    conn.end();
    conn.destroySoon();
  };
  const abort = (): void => {
    if (!conn.destroyed && conn.writable) conn.write(RESET_FRAME);
    conn.destroy();
    const s = stream;
    stream = undefined;
    if (s) {
      s.detach();
      s.app?.destroy();
      s.release();
    }
  };
  const settle = (s: Stream): void => {
    if (stream !== s || !s.gotFin || !s.sentFin) return;
    stream = undefined;
    s.detach();
    s.release();
    if (retired) close();
    else conn.setTimeout(hooks.idleTimeoutMs);
  };
  const attach = (s: Stream, app: Socket): void => {
    const onData = forward(app, conn);
    const onEnd = (): void => {
      conn.write(FIN_FRAME);
      s.sentFin = true;
      settle(s);
    };
    const onClose = (): void => {
      if (stream === s) abort();
    };
    app.on("error", () => app.destroy());
    app.on("data", onData);
    app.once("end", onEnd);
    app.once("close", onClose);
    s.detach = () => {
      app.off("data", onData);
      app.off("end", onEnd);
      app.off("close", onClose);
    };
  };
  const onFrame = (type: number, payload: Buffer): void => {
    if (type === OPEN) {
      if (stream) return abort();
      // Retired while this OPEN was on its way: unanswered, so the dialler dials afresh.
      if (retired) return void conn.destroy();
      conn.setTimeout(0);
      const s: Stream = { app: undefined, detach: () => undefined, queued: [], gotFin: false, sentFin: false, release: hooks.track() };
      stream = s;
      conn.pause();
      hooks.open().then(
        (app) => {
          if (stream !== s) return void app?.destroy();
          if (!app) return abort();
          s.app = app;
          attach(s, app);
          conn.write(OPENED_FRAME);
          for (const q of s.queued) app.write(q);
          s.queued = [];
          if (s.gotFin) app.end();
          conn.resume();
        },
        () => {
          if (stream === s) abort();
        },
      );
      return;
    }
    const s = stream;
    if (!s || s.gotFin) return abort();
    if (type === DATA) {
      if (!s.app) s.queued.push(payload);
      else if (!s.app.write(payload)) {
        conn.pause();
        s.app.once("drain", () => conn.resume());
      }
    } else if (type === FIN) {
      s.gotFin = true;
      s.app?.end();
      settle(s);
    } else abort();
  };
  conn.on("timeout", () => {
    if (!stream) conn.destroy();
  });
  conn.on("error", () => abort());
  conn.on("data", (chunk: Buffer) => {
    if (!reader.push(chunk, onFrame)) abort();
  });
  conn.on("end", () => abort());
  conn.on("close", () => {
    if (stream) abort();
  });
  conn.setTimeout(hooks.idleTimeoutMs);
  return {
    retire: () => {
      if (retired) return;
      retired = true;
      if (!stream) close();
    },
  };
}
