import { createSocket, type RemoteInfo, type Socket as UdpSocket, type SocketOptions } from "node:dgram";
import { lookup as dnsLookup } from "node:dns";
import { createServer, isIP, isIPv6, type Server, type Socket } from "node:net";
import { systemClock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";

// The DNS sockets: UDP and TCP (RFC 1035 two-byte length framing) on the same port. Each
// message goes to `handler`; whatever it returns is sent back. A handler that throws or
// rejects costs that one message, never the listener.
//
// DNS shares the event loop with consensus, so its synchronous work is bounded per loop turn
// (TurnBudget): once handlers have used `turnBudgetMs` in one turn, further datagrams wait in a
// bounded queue for the next turn — and are dropped (counted; UDP clients retry) only when the
// queue is full, i.e. under sustained overload — while TCP connections stop being read until
// the next turn. Raft's sockets and timers therefore wait at most about one budget per turn.

export type DnsWireTransport = "udp" | "tcp";

export type DnsMessageHandler = (
  message: Buffer,
  transport: DnsWireTransport,
  remote: { address: string; port: number },
) => Buffer | undefined | Promise<Buffer | undefined>;

export interface DnsListener {
  udpPort: number;
  tcpPort: number;
  /** Datagrams dropped because DNS work was over its budget and the wait queue was full. */
  overloadDrops(): number;
  close(): Promise<void>;
}

export interface DnsListenerLimits {
  /** A TCP connection idle this long is closed (Go's DNS server uses 2 s reads; we are kinder). */
  tcpIdleTimeoutMs: number;
  /** Concurrent TCP connections; more are refused by the kernel backlog. */
  tcpMaxConnections: number;
  /** Requests one TCP connection may have in flight before we stop reading from it. */
  tcpMaxPipelined: number;
  /**
   * Handler time (ms) DNS may use in one event-loop turn. Raft heartbeats are 100 ms apart in
   * dev mode and more in production; 10 ms keeps them on time while a turn still answers
   * hundreds of ordinary queries (a cached answer costs a few µs).
   */
  turnBudgetMs: number;
  /** Datagrams that may wait for a later turn once the budget is spent; more are dropped. */
  udpMaxQueued: number;
}

export const DNS_LISTENER_DEFAULTS: DnsListenerLimits = {
  tcpIdleTimeoutMs: 10_000,
  tcpMaxConnections: 1024,
  tcpMaxPipelined: 64,
  turnBudgetMs: 10,
  udpMaxQueued: 1024,
};

/** Bytes the UDP wait queue may hold, whatever the datagram count (4 MiB: 64 full-size datagrams). */
const UDP_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * Synchronous DNS work in the current event-loop turn. The account opens with the first
 * message of a turn and closes in the turn's check phase (setImmediate), after every socket
 * that was ready in this poll — Raft's included — has been served.
 */
class TurnBudget {
  readonly #budgetMs: number;
  #spentMs = 0;
  #closing = false;
  #waiting: (() => void)[] = [];
  dropped = 0;

  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
  }

  get exhausted(): boolean {
    return this.#spentMs >= this.#budgetMs;
  }

  /** Runs `fn`, charging its time to this turn. */
  run<T>(fn: () => T): T {
    const started = systemClock.monotonicMs();
    try {
      return fn();
    } finally {
      this.#spentMs += systemClock.monotonicMs() - started;
      this.#closeAtEndOfTurn();
    }
  }

  /** Calls `fn` once the next turn's account is open. */
  nextTurn(fn: () => void): void {
    this.#waiting.push(fn);
    this.#closeAtEndOfTurn();
  }

  #closeAtEndOfTurn(): void {
    if (this.#closing) return;
    this.#closing = true;
    setImmediate(() => {
      this.#closing = false;
      this.#spentMs = 0;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const fn of waiting) fn();
    });
  }
}

/** Consul's DNS UDP receive buffer. */
const UDP_RECEIVE_BUFFER_BYTES = 65535;
const BIND_ATTEMPTS = 10;
/** Overload and rate-bound drops are logged at most this often. */
const OVERLOAD_WARN_INTERVAL_MS = 10_000;

export async function listenDns(
  listen: { host: string; port: number },
  handler: DnsMessageHandler,
  logger: Logger,
  limits: DnsListenerLimits = DNS_LISTENER_DEFAULTS,
): Promise<DnsListener> {
  // With port 0 the kernel picks the UDP port; TCP then tries the same one, and we retry on a
  // clash so both transports normally share a port, as Consul's do.
  const budget = new TurnBudget(limits.turnBudgetMs);
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(listen.host, listen.port, handler, logger, budget, limits.udpMaxQueued);
    const udpPort = udp.address().port;
    try {
      const tcp = await listenTcp(listen.host, udpPort, handler, logger, limits, budget);
      return makeListener(udp, tcp, budget);
    } catch (err) {
      if (listen.port === 0 && attempt < BIND_ATTEMPTS) {
        await closeUdp(udp);
        continue;
      }
      await closeUdp(udp);
      throw err;
    }
  }
}

function makeListener(udp: UdpSocket, tcp: { server: Server; sockets: Set<Socket> }, budget: TurnBudget): DnsListener {
  const address = tcp.server.address();
  const tcpPort = typeof address === "object" && address ? address.port : 0;
  let closed = false;
  return {
    udpPort: udp.address().port,
    tcpPort,
    overloadDrops: () => budget.dropped,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of tcp.sockets) s.destroy();
      await Promise.all([closeUdp(udp), new Promise<void>((resolve) => tcp.server.close(() => resolve()))]);
    },
  };
}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * Replies go back to the address a datagram came from, always an IP literal. dgram resolves
 * even literals through dns.lookup, which defers every send by a tick; answering literals
 * synchronously sends the reply in the same turn. Hostnames (a bind address) still resolve.
 */
const ipLiteralLookup: NonNullable<SocketOptions["lookup"]> = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options, callback);
};

function bindUdp(host: string, port: number, handler: DnsMessageHandler, logger: Logger, budget: TurnBudget, maxQueued: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", lookup: ipLiteralLookup });
    const onBindError = (err: Error): void => reject(err);
    socket.once("error", onBindError);
    socket.bind(port, host, () => {
      socket.off("error", onBindError);
      socket.on("error", (err) => logger.error("DNS UDP socket error", { error: err.message }));
      try {
        socket.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES);
      } catch {
        // The kernel may clamp or refuse; the default buffer still works.
      }

      // No send callback: a lost UDP reply is the client's to retry, and without one Node
      // tries a synchronous send and skips a completion callback per datagram.
      const answer = (msg: Buffer, rinfo: RemoteInfo): void => {
        try {
          const reply = budget.run(() => handler(msg, "udp", rinfo));
          if (reply instanceof Promise) {
            reply.then(
              (r) => r && socket.send(r, rinfo.port, rinfo.address),
              (err: unknown) => logger.error("DNS handler failed", { error: String(err) }),
            );
          } else if (reply) {
            socket.send(reply, rinfo.port, rinfo.address);
          }
        } catch (err) {
          logger.error("DNS handler failed", { error: String(err) });
        }
      };

      // Datagrams that arrived after the turn's budget was spent, answered in later turns.
      const queued: { msg: Buffer; rinfo: RemoteInfo }[] = [];
      let queuedBytes = 0;
      let drainScheduled = false;
      let lastOverloadWarnMs = -Infinity;
      const drainQueued = (): void => {
        drainScheduled = false;
        while (queued.length > 0 && !budget.exhausted) {
          const next = queued.shift() as { msg: Buffer; rinfo: RemoteInfo };
          queuedBytes -= next.msg.length;
          answer(next.msg, next.rinfo);
        }
        if (queued.length > 0) scheduleDrain();
      };
      const scheduleDrain = (): void => {
        if (drainScheduled) return;
        drainScheduled = true;
        budget.nextTurn(drainQueued);
      };

      socket.on("message", (msg, rinfo) => {
        if (queued.length === 0 && !budget.exhausted) {
          answer(msg, rinfo);
          return;
        }
        if (queued.length >= maxQueued || queuedBytes + msg.length > UDP_MAX_QUEUED_BYTES) {
          budget.dropped++;
          const now = systemClock.monotonicMs();
          if (now - lastOverloadWarnMs >= OVERLOAD_WARN_INTERVAL_MS) {
            lastOverloadWarnMs = now;
            logger.warn("DNS overloaded: dropping datagrams to keep the event loop for consensus", { dropped: budget.dropped });
          }
          return;
        }
        queued.push({ msg, rinfo });
        queuedBytes += msg.length;
        scheduleDrain();
      });
      resolve(socket);
    });
  });
}

function listenTcp(
  host: string,
  port: number,
  handler: DnsMessageHandler,
  logger: Logger,
  limits: DnsListenerLimits,
  budget: TurnBudget,
): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => serveTcpConnection(socket, handler, logger, limits, sockets, budget));
  server.maxConnections = limits.tcpMaxConnections;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      server.on("error", (err) => logger.error("DNS TCP listener error", { error: err.message }));
      resolve({ server, sockets });
    });
  });
}

function serveTcpConnection(
  socket: Socket,
  handler: DnsMessageHandler,
  logger: Logger,
  limits: DnsListenerLimits,
  sockets: Set<Socket>,
  budget: TurnBudget,
): void {
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.setTimeout(limits.tcpIdleTimeoutMs, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.on("close", () => sockets.delete(socket));
  const remote = { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
  let buffered: Buffer = Buffer.alloc(0);
  // Replies go out in request order, however long each took.
  let chain: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let waitingForTurn = false;

  const writeFramed = (reply: Buffer | undefined): void => {
    if (!reply || socket.destroyed) return;
    const frame = Buffer.alloc(2 + reply.length);
    frame.writeUInt16BE(reply.length, 0);
    reply.copy(frame, 2);
    socket.write(frame);
  };

  const enqueue = (message: Buffer): void => {
    inFlight++;
    let result: ReturnType<DnsMessageHandler>;
    try {
      result = budget.run(() => handler(message, "tcp", remote));
    } catch (err) {
      logger.error("DNS handler failed", { error: String(err) });
      result = undefined;
    }
    chain = chain
      .then(() => result)
      .then(writeFramed, (err: unknown) => logger.error("DNS handler failed", { error: String(err) }))
      .finally(() => {
        inFlight--;
        drain();
      });
  };

  // Handles the complete messages buffered so far, unless too many are in flight or the
  // turn's budget is spent: then reading stops and resumes when either clears. Requests are
  // never dropped on TCP; the client simply waits.
  const drain = (): void => {
    if (socket.destroyed) return;
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (buffered.length < 2 + len) break;
      if (inFlight >= limits.tcpMaxPipelined) {
        socket.pause();
        return;
      }
      if (budget.exhausted) {
        socket.pause();
        if (!waitingForTurn) {
          waitingForTurn = true;
          budget.nextTurn(() => {
            waitingForTurn = false;
            drain();
          });
        }
        return;
      }
      enqueue(buffered.subarray(2, 2 + len));
      buffered = buffered.subarray(2 + len);
    }
    if (socket.isPaused()) socket.resume();
  };

  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    drain();
  });
}
