// Start-up failures worded as Consul words them, so an operator (or a script grepping the
// output) sees the same `==> Error starting agent: …` line for the same cause.

/** Node's listen/bind error in Go's net wording: `listen tcp 127.0.0.1:8300: bind: address already in use`. */
export function goListenError(err: unknown, proto: "tcp" | "udp", host: string, port: number): string {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  const addr = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (code) {
    case "EADDRINUSE":
      return `listen ${proto} ${addr}: bind: address already in use`;
    case "EADDRNOTAVAIL":
      return `listen ${proto} ${addr}: bind: cannot assign requested address`;
    case "EACCES":
      return `listen ${proto} ${addr}: bind: permission denied`;
    default:
      return `listen ${proto} ${addr}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function syscallOf(err: unknown): string | undefined {
  const syscall = typeof err === "object" && err !== null ? (err as { syscall?: unknown }).syscall : undefined;
  return typeof syscall === "string" ? syscall : undefined;
}

/**
 * A serf pool that could not open its port, as Consul reports it (memberlist's transport
 * error inside serf's and the agent's). Node reports a UDP bind as syscall "bind" and a TCP
 * listen as "listen"; memberlist opens TCP first.
 */
export function serfStartError(err: unknown, pool: "LAN" | "WAN", server: boolean, host: string, port: number): Error {
  const udp = syscallOf(err) === "bind";
  const listener = udp
    ? `Failed to start UDP listener on "${host}" port ${port}: ${goListenError(err, "udp", host, port)}`
    : `Failed to start TCP listener on "${host}" port ${port}: ${goListenError(err, "tcp", host, port)}`;
  const inner = `Failed to create memberlist: Could not set up network transport: failed to obtain an address: ${listener}`;
  if (!server) return new Error(`Failed to start Consul client: Failed to start lan serf: ${inner}`);
  return new Error(`Failed to start Consul server: Failed to start ${pool} Serf: ${inner}`);
}

/** The server RPC listener could not open its port. */
export function rpcStartError(err: unknown, host: string, port: number): Error {
  return new Error(`Failed to start Consul server: Failed to start RPC layer: ${goListenError(err, "tcp", host, port)}`);
}

/**
 * What start-up has opened so far, closed in reverse when a later step fails, so a failed
 * start releases every port and timer instead of leaving the process half running.
 */
export class StartedParts {
  readonly #undo: (() => Promise<void> | void)[] = [];

  add(undo: () => Promise<void> | void): void {
    this.#undo.push(undo);
  }

  async unwind(): Promise<void> {
    for (const undo of this.#undo.reverse()) {
      try {
        await undo();
      } catch {
        // Best effort: the start already failed with the error worth reporting.
      }
    }
    this.#undo.length = 0;
  }
}
