// A plain TCP listener for the local side of a mesh endpoint (an upstream's LocalBindPort):
// each accepted connection is paused until the caller has dialled the other end.
import net from "node:net";

// A burst of new connections (a client pool opening hundreds at once) must queue in the
// kernel rather than be dropped and retried a second later; Node's default is 511.
const LISTEN_BACKLOG = 4096;

export class TcpListener {
  readonly #server: net.Server;
  readonly #host: string;
  readonly #port: number;

  constructor(host: string, port: number, onConnection: (socket: net.Socket) => void) {
    this.#host = host;
    this.#port = port;
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      socket.on("error", () => socket.destroy());
      onConnection(socket);
    });
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen({ port: this.#port, host: this.#host, backlog: LISTEN_BACKLOG }, () => {
        this.#server.off("error", reject);
        const addr = this.#server.address();
        resolve({ host: this.#host, port: typeof addr === "object" && addr ? addr.port : this.#port });
      });
    });
  }

  /** Stops accepting at once; connections already accepted are left to their owner. */
  close(): Promise<void> {
    if (this.#server.listening) this.#server.close();
    return Promise.resolve();
  }
}

/** Opens a TCP connection to a local application, bounded by `timeoutMs`. */
export function dialTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    socket.setTimeout(timeoutMs);
    const onTimeout = (): void => void socket.destroy(new Error(`dial tcp ${host}:${port}: i/o timeout`));
    const onError = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once("timeout", onTimeout);
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.off("timeout", onTimeout);
      socket.off("error", onError);
      resolve(socket);
    });
  });
}
