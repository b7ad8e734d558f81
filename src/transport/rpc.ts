// The server-port RPC protocol: after one protocol byte, both directions carry
// length-prefixed msgpack frames (frame.ts). Requests carry an id chosen by the caller, so
// many calls share one connection and answers may come back in any order; a cancel frame
// tells the server the caller no longer wants an answer (its HTTP client went away).

/** First byte a caller writes, so one port carries several protocols. */
export const RPC_PROTOCOL_BYTE = 0x43;
/** First byte of a Raft transport connection between servers (Consul also runs Raft over its server port). */
export const RAFT_PROTOCOL_BYTE = 0x01;

export type RpcFrame =
  | { t: "req"; id: number; m: string; a: unknown }
  | { t: "res"; id: number; r?: unknown; e?: RpcErrorBody }
  | { t: "cancel"; id: number };

/** An error as it travels: a stable code plus the message (and a leader hint when known). */
export interface RpcErrorBody {
  code: string;
  message: string;
  leader?: string;
}

export const RpcErrorCode = {
  /** The connection failed or closed before an answer: the call may or may not have run. */
  Connection: "rpc-connection",
  /** The caller gave up (timeout). The call may still run on the server. */
  Timeout: "rpc-timeout",
  Cancelled: "rpc-cancelled",
  /** Too many calls in flight (client queue or server limit): nothing was run. */
  Busy: "rpc-busy",
  UnknownMethod: "rpc-unknown-method",
  NotLeader: "not-leader",
  NoLeader: "no-leader",
  /**
   * The server led when it took a write and lost the post before the write committed: the
   * entry may still commit under the next leader, so the write must not be sent again.
   */
  LeadershipLost: "leadership-lost",
  /** The handler failed; the message is the server's. */
  Failed: "rpc-failed",
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

export class RpcError extends Error {
  readonly code: string;
  readonly leader: string;
  /**
   * The call provably never reached the server (dial refused or timed out, redial backoff,
   * connection already closed): even a write may be sent again.
   */
  readonly notSent: boolean;
  constructor(code: string, message: string, leader = "", options: { notSent?: boolean } = {}) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.leader = leader;
    this.notSent = options.notSent === true;
  }

  toBody(): RpcErrorBody {
    return this.leader === "" ? { code: this.code, message: this.message } : { code: this.code, message: this.message, leader: this.leader };
  }

  /** True when nothing ran on the server, so the same call may go to another server. */
  get safeToRetry(): boolean {
    return this.notSent || this.code === RpcErrorCode.Busy || this.code === RpcErrorCode.NoLeader || this.code === RpcErrorCode.NotLeader;
  }
}

export type RpcHandler = (args: unknown, call: { signal: AbortSignal; remoteAddress: string }) => Promise<unknown> | unknown;

/** Splits "host:port" (IPv6 in brackets) or a bare host, defaulting the port. */
export function parseHostPort(address: string, defaultPort: number): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
  const colons = address.split(":").length - 1;
  if (colons === 1) {
    const at = address.lastIndexOf(":");
    return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
  }
  return { host: address, port: defaultPort };
}
