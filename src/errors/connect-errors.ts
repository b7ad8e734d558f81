// Errors the Connect data plane (SDK and built-in proxy) hands to its callers. Each carries a
// stable code so callers can branch without matching message text.

export const CONNECT_ERROR_CODES = [
  /** The agent's HTTP API could not be reached or answered with an error. */
  "AgentError",
  /** The agent has no healthy Connect-capable instance of the destination. */
  "NoHealthyInstances",
  /** Every instance tried failed to connect or presented the wrong identity. */
  "DialFailed",
  /** The server's certificate does not carry the destination's SPIFFE ID. */
  "IdentityMismatch",
  /** A URL or name that does not name a Connect destination. */
  "BadDestination",
  /** The service was closed. */
  "Closed",
] as const;

export type ConnectErrorCode = (typeof CONNECT_ERROR_CODES)[number];

export class ConnectError extends Error {
  readonly code: ConnectErrorCode;
  constructor(code: ConnectErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ConnectError";
    this.code = code;
  }
}

/** An answer other than 200 from the agent: status and body as it sent them. */
export class AgentStatusError extends ConnectError {
  readonly statusCode: number;
  readonly body: string;
  constructor(path: string, statusCode: number, body: string) {
    super("AgentError", `${path}: Unexpected response code: ${statusCode} (${body.trim()})`);
    this.statusCode = statusCode;
    this.body = body;
  }
}
