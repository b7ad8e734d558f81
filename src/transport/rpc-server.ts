import { createServer, type Server, type Socket } from "node:net";
import { METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
import type { Logger } from "../runtime/logger.ts";
import { TurnBatchedWriter } from "./turn-batched-writer.ts";
import { encodeFrame, FrameDecoder } from "./frame.ts";
import { RPC_TLS_BYTE, RPC_TLS_INSECURE_BYTE, type ServerPortTls } from "./server-port-tls.ts";
import { RPC_PROTOCOL_BYTE, RpcError, RpcErrorCode, type RpcErrorBody, type RpcFrame, type RpcHandler } from "./rpc.ts";

// The listening side of the RPC mux. Each request runs as soon as it arrives (calls on one
// connection overlap freely); answers are written when ready. A cancel frame or a closed
// connection aborts the call's signal and drops its answer. Limits: connections, and calls in
// flight per connection (beyond it the call is refused with rpc-busy without running).

export interface RpcServerOptions {
  host: string;
  /** 0 picks a free port (see `address` after listen). */
  port: number;
  handlers: ReadonlyMap<string, RpcHandler>;
  logger: Logger;
  maxConnections: number;
  maxInFlightPerConnection: number;
  /**
   * Other protocols sharing the port, by first byte: the connection is handed over with
   * whatever followed that byte (`head`), and is no longer the RPC server's.
   */
  protocols?: ReadonlyMap<number, (socket: Socket, head: Buffer) => void>;
  /** TLS on this port (RPCTLS byte, verify_incoming); absent: plaintext only. */
  tls?: ServerPortTls;
  /**
   * What a connection opened with RPCTLSInsecure (TLS, no client certificate) may call:
   * auto_encrypt's AutoEncrypt.Sign only. Absent: such connections are refused.
   */
  insecureHandlers?: ReadonlyMap<string, RpcHandler>;
  /** consul.rpc.request: one per request this server runs (Consul counts each served RPC). */
  metrics?: Metrics;
}

export const defaultRpcServerLimits = { maxConnections: 4096, maxInFlightPerConnection: 4096 } as const;

export interface RunningRpcServer {
  address: { host: string; port: number };
  /** Serves a connection accepted elsewhere (a future port mux), protocol byte still unread. */
  serve(socket: Socket): void;
  close(): Promise<void>;
}

function errorBody(err: unknown): RpcErrorBody {
  if (err instanceof RpcError) return err.toBody();
  if (err instanceof Error) {
    // Errors from consensus (NotLeaderError and friends) carry a string `code` and maybe a leader.
    const { code, leaderAddress } = err as Error & { code?: unknown; leaderAddress?: unknown };
    const body: RpcErrorBody = { code: typeof code === "string" ? code : RpcErrorCode.Failed, message: err.message };
    if (typeof leaderAddress === "string" && leaderAddress !== "") body.leader = leaderAddress;
    return body;
  }
  return { code: RpcErrorCode.Failed, message: String(err) };
}

export async function startRpcServer(options: RpcServerOptions): Promise<RunningRpcServer> {
  const sockets = new Set<Socket>();
  const handedOver = new Set<Socket>();
  const log = options.logger;
  const rpcRequests = options.metrics?.counter(METRIC_NAMES.rpcRequest);
  const rpcRequestErrors = options.metrics?.counter(METRIC_NAMES.rpcRequestError);

  const tls = options.tls;
  /**
   * `insideTls`: the connection already went through a TLS handshake; `insecure`: one without
   * a client certificate (RPCTLSInsecure), which may only make the auto_encrypt call.
   */
  const serve = (socket: Socket, insideTls = false, insecure = false): void => {
    const handlers = insecure ? (options.insecureHandlers ?? new Map<string, RpcHandler>()) : options.handlers;
    if (sockets.size >= options.maxConnections) {
      log.warn("rpc: connection limit reached, refusing", { remote: socket.remoteAddress ?? "" });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    const remoteAddress = `${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}`;
    const decoder = new FrameDecoder();
    const inFlight = new Map<number, AbortController>();
    let greeted = false;

    const writer = new TurnBatchedWriter(socket);
    const send = (frame: RpcFrame): void => {
      if (!socket.destroyed) writer.write(encodeFrame(frame));
    };

    const run = (id: number, method: string, args: unknown): void => {
      const handler = handlers.get(method);
      if (!handler) return send({ t: "res", id, e: { code: RpcErrorCode.UnknownMethod, message: `rpc: can't find method ${method}` } });
      if (inFlight.size >= options.maxInFlightPerConnection) {
        return send({ t: "res", id, e: { code: RpcErrorCode.Busy, message: "rpc: too many requests in flight" } });
      }
      const controller = new AbortController();
      inFlight.set(id, controller);
      rpcRequests?.inc();
      Promise.resolve()
        .then(() => handler(args, { signal: controller.signal, remoteAddress }))
        .then(
          (r: unknown) => {
            if (inFlight.get(id) === controller && !controller.signal.aborted) send({ t: "res", id, r });
          },
          (err: unknown) => {
            // Consul's rpc.request_error: the server answered a request with an error.
            rpcRequestErrors?.inc();
            if (inFlight.get(id) === controller && !controller.signal.aborted) send({ t: "res", id, e: errorBody(err) });
          },
        )
        .finally(() => {
          if (inFlight.get(id) === controller) inFlight.delete(id);
        })
        .catch((err: unknown) => log.error("rpc: answer failed", { method, error: String(err) }));
    };

    const handOver = (): void => {
      socket.off("data", onData);
      sockets.delete(socket);
      // Still a connection of this listener: close() must end it, or it would wait on it.
      handedOver.add(socket);
      socket.once("close", () => handedOver.delete(socket));
    };

    const onData = (chunk: Buffer): void => {
      if (!greeted) {
        if (chunk[0] === RPC_TLS_BYTE && tls !== undefined && tls.accepts && !insideTls) {
          handOver();
          socket.pause();
          tls.accept(
            socket,
            chunk.subarray(1),
            (secure) => serve(secure, true),
            (reason) => log.warn(`rpc: failed to read byte: ${reason}`, { conn: "from=" + remoteAddress }),
          );
          return;
        }
        if (chunk[0] === RPC_TLS_INSECURE_BYTE && tls !== undefined && tls.accepts && !insideTls && options.insecureHandlers !== undefined) {
          handOver();
          socket.pause();
          tls.accept(
            socket,
            chunk.subarray(1),
            (secure) => serve(secure, true, true),
            (reason) => log.warn(`rpc: failed to read byte: ${reason}`, { conn: "from=" + remoteAddress }),
            true,
          );
          return;
        }
        if (insecure && chunk[0] !== RPC_PROTOCOL_BYTE) {
          log.warn("rpc: insecure TLS connection may only carry the auto_encrypt RPC, closing", { conn: "from=" + remoteAddress, byte: chunk[0] });
          socket.destroy();
          return;
        }
        if (insideTls && (chunk[0] === RPC_TLS_BYTE || chunk[0] === RPC_TLS_INSECURE_BYTE)) {
          log.error("rpc: TLS connection attempting to establish inner TLS connection", { conn: "from=" + remoteAddress });
          socket.destroy();
          return;
        }
        if (!insideTls && tls?.verifyIncoming === true) {
          log.warn("rpc: Non-TLS connection attempted with VerifyIncoming set", { conn: "from=" + remoteAddress });
          socket.destroy();
          return;
        }
        const other = options.protocols?.get(chunk[0]);
        if (other && insideTls) {
          const problem = tls?.serverConnProblem(socket);
          if (problem !== undefined) {
            log.warn(`rpc: ${problem}`, { conn: "from=" + remoteAddress });
            socket.destroy();
            return;
          }
        }
        if (other) {
          handOver();
          other(socket, chunk.subarray(1));
          return;
        }
        if (chunk[0] !== RPC_PROTOCOL_BYTE) {
          log.warn("rpc: unknown protocol byte, closing", { remote: remoteAddress, byte: chunk[0] });
          socket.destroy();
          return;
        }
        greeted = true;
        chunk = chunk.subarray(1);
        if (chunk.byteLength === 0) return;
      }
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        log.warn("rpc: bad frame, closing connection", { remote: remoteAddress, error: String(err) });
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const frame = f as Partial<RpcFrame>;
        if (frame.t === "req" && typeof frame.id === "number" && typeof frame.m === "string") run(frame.id, frame.m, frame.a);
        else if (frame.t === "cancel" && typeof frame.id === "number") {
          const c = inFlight.get(frame.id);
          inFlight.delete(frame.id);
          c?.abort();
        }
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      for (const c of inFlight.values()) c.abort();
      inFlight.clear();
    });
  };

  const server: Server = createServer((socket) => serve(socket));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : options.port;
  return {
    address: { host: options.host, port },
    serve: (socket) => serve(socket),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        for (const s of handedOver) s.destroy();
      }),
  };
}
