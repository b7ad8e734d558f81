import { timingSafeEqual } from "node:crypto";

// The tokens an agent holds for itself (Consul's agent/token.Store): set from acl.tokens.* at
// start, replaced through PUT /v1/agent/token/<name>, and — with acl.enable_token_persistence —
// reloaded from the data dir. What each one does here:
//   default   requests that carry no token act as it (else anonymous)
//   dns       DNS answers as it (else the default token, else anonymous)
//   agent_recovery   a presented secret equal to it may read and write this agent's own
//             agent:* endpoints and read nodes, without asking the ACL tables (Consul's recovery)
//   config_file_service_registration   what services and checks from config files sync under
//             when they carry no token of their own (agent/sync-token.ts, Agent.serviceSyncToken)
//   agent     the agent's node-info writes and removals of its registrations (else the default
//             token; agent/catalog-writes.ts, AclService.agentSecret)
//   replication   held and persisted; it has nothing to do in the primary datacenter (the only
//             one ACLs run in)

export const AGENT_TOKEN_KINDS = ["default", "agent", "agent_recovery", "replication", "config_file_service_registration", "dns"] as const;
export type AgentTokenKind = (typeof AGENT_TOKEN_KINDS)[number];

export type AgentTokenValues = Partial<Record<AgentTokenKind, string>>;

/** /v1/agent/token/<name> → the token it sets, current and legacy names (agent/agent_endpoint.go). */
const ENDPOINT_NAMES: Readonly<Record<string, AgentTokenKind>> = {
  default: "default",
  acl_token: "default",
  agent: "agent",
  acl_agent_token: "agent",
  agent_recovery: "agent_recovery",
  agent_master: "agent_recovery",
  acl_agent_master_token: "agent_recovery",
  replication: "replication",
  acl_replication_token: "replication",
  config_file_service_registration: "config_file_service_registration",
  dns: "dns",
  dns_token: "dns",
};

export function agentTokenKindForEndpoint(name: string): AgentTokenKind | undefined {
  return Object.hasOwn(ENDPOINT_NAMES, name) ? ENDPOINT_NAMES[name] : undefined;
}

/** Equal secrets, compared without leaking through timing where the first difference is. */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  // Comparing against itself when lengths differ keeps the time independent of the content.
  return timingSafeEqual(left, left.length === right.length ? right : left) && left.length === right.length;
}

export class AgentTokens {
  readonly #values = new Map<AgentTokenKind, string>();

  constructor(initial: AgentTokenValues = {}) {
    this.update(initial);
  }

  get(kind: AgentTokenKind): string {
    return this.#values.get(kind) ?? "";
  }

  set(kind: AgentTokenKind, secret: string): void {
    this.#values.set(kind, secret);
  }

  /** Sets every token named in `values` with a non-empty secret (how persisted tokens override config). */
  update(values: AgentTokenValues): void {
    for (const kind of AGENT_TOKEN_KINDS) {
      const secret = values[kind];
      if (secret !== undefined && secret !== "") this.#values.set(kind, secret);
    }
  }

  /** The non-empty tokens, for persisting. */
  values(): AgentTokenValues {
    const out: AgentTokenValues = {};
    for (const kind of AGENT_TOKEN_KINDS) {
      const secret = this.get(kind);
      if (secret !== "") out[kind] = secret;
    }
    return out;
  }

  /** True when `presented` is this agent's recovery token. */
  isAgentRecovery(presented: string): boolean {
    const recovery = this.get("agent_recovery");
    return recovery !== "" && presented !== "" && secretsEqual(presented, recovery);
  }
}
