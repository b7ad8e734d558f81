// Check outputs carry Go's error texts (`dial tcp 127.0.0.1:1: connect: connection refused`),
// and dashboards, alerts and tests match on them. Node's errors are mapped onto that form here.

const SYSCALL_TEXT: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  EADDRNOTAVAIL: "cannot assign requested address",
  ETIMEDOUT: "connection timed out",
  EPIPE: "broken pipe",
  EACCES: "permission denied",
};

export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A Go syscall error text for a Node error (falls back to Node's message). */
export function goSyscallText(err: unknown): string {
  const code = errorCode(err);
  return (code && SYSCALL_TEXT[code]) ?? errorMessage(err);
}

/** `host:port` split as Go's net.SplitHostPort does (brackets around IPv6 literals removed). */
export function splitHostPort(addr: string): { host: string; port: number } | string {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(addr);
  let host: string;
  let portText: string;
  if (bracketed) {
    [, host, portText] = bracketed;
  } else {
    const i = addr.lastIndexOf(":");
    if (i < 0) return `address ${addr}: missing port in address`;
    host = addr.slice(0, i);
    portText = addr.slice(i + 1);
    if (host.includes(":")) return `address ${addr}: too many colons in address`;
  }
  const port = Number(portText);
  if (portText === "" || !Number.isInteger(port) || port < 0 || port > 65535) return `address ${addr}: invalid port`;
  return { host: host === "" ? "127.0.0.1" : host, port };
}

/** Go's *net.OpError text for a failed dial. */
export function goDialError(network: "tcp" | "udp", addr: string, err: unknown): string {
  const code = errorCode(err);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    const hostPort = splitHostPort(addr);
    const host = typeof hostPort === "string" ? addr : hostPort.host;
    return `dial ${network}: lookup ${host}: no such host`;
  }
  return `dial ${network} ${addr}: connect: ${goSyscallText(err)}`;
}

/** Go's text for a dial that hit its deadline. */
export function goDialTimeout(network: "tcp" | "udp", addr: string): string {
  return `dial ${network} ${addr}: i/o timeout`;
}

/** Go's TLS handshake error texts for the common verification failures. */
export function goTlsError(err: unknown): string {
  const code = errorCode(err);
  switch (code) {
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    case "CERT_HAS_EXPIRED":
      return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `tls: failed to verify certificate: x509: ${errorMessage(err)}`;
    default:
      return code?.startsWith("ERR_SSL") || code?.startsWith("EPROTO") ? `tls: ${errorMessage(err)}` : goSyscallText(err);
  }
}

/** Whether a Node error came from TLS verification or the handshake. */
export function isTlsError(err: unknown): boolean {
  const code = errorCode(err) ?? "";
  return /CERT|SELF_SIGNED|VERIFY|ALTNAME|ERR_SSL|EPROTO/.test(code);
}
