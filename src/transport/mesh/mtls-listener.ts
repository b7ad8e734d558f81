// The public side of a mesh endpoint: a TLS server that requires a client certificate chaining
// to the current roots (no SNI needed: one service, one context per generation), then asks
// `admit` (intentions) before handing the connection on. Rotation swaps the context for new
// connections only; open ones keep the generation they were made with.
import tls from "node:tls";
import { secureContextOptions, type MeshTlsContext } from "./tls-material.ts";

// A burst of new connections (a client pool opening hundreds at once) must queue in the
// kernel rather than be dropped and retried a second later; Node's default is 511.
const LISTEN_BACKLOG = 4096;

export interface MtlsListenerOptions {
  host: string;
  port: number;
  context: MeshTlsContext;
  handshakeTimeoutMs: number;
  /** Decides whether an established (chain-verified) connection may proceed. */
  admit: (socket: tls.TLSSocket) => Promise<boolean>;
  /**
   * Receives admitted connections with the generation of material current when their
   * handshake completed (admission may outlast a rotation); refused ones are destroyed.
   */
  onAdmitted: (socket: tls.TLSSocket, generation: number) => void;
  /** A handshake failed (no or untrusted client certificate, timeout…). */
  onHandshakeError?: (err: Error) => void;
}

export class MtlsListener {
  readonly #server: tls.Server;
  readonly #opts: MtlsListenerOptions;
  #generation: number;

  constructor(opts: MtlsListenerOptions) {
    this.#opts = opts;
    this.#generation = opts.context.generation;
    this.#server = tls.createServer({
      ...secureContextOptions(opts.context),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: opts.handshakeTimeoutMs,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.#server.on("secureConnection", (socket: tls.TLSSocket) => this.#onSecure(socket));
    this.#server.on("tlsClientError", (err: Error) => opts.onHandshakeError?.(err));
  }

  #onSecure(socket: tls.TLSSocket): void {
    socket.on("error", () => socket.destroy());
    const generation = this.#generation;
    this.#opts.admit(socket).then(
      (ok) => {
        if (socket.destroyed) return;
        if (ok) this.#opts.onAdmitted(socket, generation);
        else socket.destroy();
      },
      () => socket.destroy(),
    );
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen({ port: this.#opts.port, host: this.#opts.host, backlog: LISTEN_BACKLOG }, () => {
        this.#server.off("error", reject);
        const addr = this.#server.address();
        resolve({ host: this.#opts.host, port: typeof addr === "object" && addr ? addr.port : this.#opts.port });
      });
    });
  }

  /** New connections present `context` from now on. */
  rotate(context: MeshTlsContext): void {
    if (context.generation === this.#generation) return;
    this.#generation = context.generation;
    this.#server.setSecureContext(secureContextOptions(context));
  }

  /** Stops accepting; open connections are the caller's to drain. */
  /** Stops accepting at once; connections already accepted are left to their owner. */
  close(): Promise<void> {
    if (this.#server.listening) this.#server.close();
    return Promise.resolve();
  }
}
