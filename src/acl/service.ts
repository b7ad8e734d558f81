import { aclNotFound } from "../errors/permission-denied.ts";
import { aclTokenExpired, type AclToken } from "../model/acl.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Rng } from "../runtime/rng.ts";
import type { AclTables } from "../state/acl-tables.ts";
import { aclSecretDigest } from "../state/acl-token-table.ts";
import type { AclBootstrapResetFile } from "../storage/acl-bootstrap-reset.ts";
import { AgentTokens, type AgentTokenKind, type AgentTokenValues } from "./agent-tokens.ts";
import { Authorizer, denyAllRules, staticAuthorizer } from "./authorizer.ts";
import { ANONYMOUS_TOKEN_SECRET } from "./builtin.ts";
import type { WriterContext } from "./object-writers.ts";
import { PolicyAuthorizer } from "./policy-authorizer.ts";
import { authorizerForToken, RulesCache } from "./resolve.ts";

// The ACL system of one agent with ACLs enabled: token resolution (the one place a request's
// secret becomes an Authorizer) and what ACL writes need. Present on HttpContext only when
// ACLs are enabled; its absence is what makes /v1/acl/* answer 401 "ACL support disabled".

export interface AclSettings {
  datacenter: string;
  defaultPolicy: "allow" | "deny";
  /** Reported in expanded token reads; servers answer themselves, so it changes no decision here. */
  downPolicy: string;
  /** acl.enable_key_list_policy: recursive KV reads also need key:list on the prefix (Consul's KVS.List). */
  enableKeyListPolicy?: boolean;
  /** acl.tokens.default at start: used for requests that carry no token (agentTokens holds the live value). */
  defaultToken: string;
  /** This agent's node name: what the agent recovery token may manage. */
  nodeName?: string;
  minExpirationTtlMs: number;
  maxExpirationTtlMs: number;
}

export const DEFAULT_MIN_EXPIRATION_TTL_MS = 60_000;
const DENY_EVERYTHING = staticAuthorizer(denyAllRules);
/** Bound on cached authorizers (one per token in use). */
const MAX_COMPILED = 16_384;
export const DEFAULT_MAX_EXPIRATION_TTL_MS = 24 * 3_600_000;

export class AclService {
  readonly settings: AclSettings;
  readonly #tables: AclTables;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #cache = new RulesCache();
  /**
   * Resolutions by the SHA-256 digest of the presented secret (the key the state's secret index
   * uses, so no secret is compared byte by byte): the token and its compiled authorizer, valid
   * while no ACL table changed since. A request then costs one digest and one cache hit — no
   * state read, no rule merging. Any ACL write (rare) invalidates them all.
   */
  readonly #resolved = new Map<string, { token: AclToken; authz: Authorizer }>();
  #resolvedAt = { tokens: -1, policies: -1, roles: -1 };
  /** Absent without a data dir: bootstrap can then never be reset. */
  readonly bootstrapReset: AclBootstrapResetFile | undefined;
  /** The agent's own tokens (default, agent, agent_recovery, replication, …). */
  readonly agentTokens: AgentTokens;
  /** Saves the agent tokens when acl.enable_token_persistence is on; absent otherwise. */
  readonly #persistAgentTokens: ((tokens: AgentTokenValues) => Promise<void>) | undefined;
  #recoveryAuthorizer: Authorizer | undefined;

  constructor(deps: {
    tables: AclTables;
    clock: Clock;
    rng: Rng;
    settings: AclSettings;
    bootstrapReset?: AclBootstrapResetFile;
    agentTokens?: AgentTokens;
    persistAgentTokens?: (tokens: AgentTokenValues) => Promise<void>;
  }) {
    this.#tables = deps.tables;
    this.#clock = deps.clock;
    this.#rng = deps.rng;
    this.settings = deps.settings;
    this.bootstrapReset = deps.bootstrapReset;
    this.agentTokens = deps.agentTokens ?? new AgentTokens({ default: deps.settings.defaultToken });
    this.#persistAgentTokens = deps.persistAgentTokens;
  }

  /** The secret a request stands for: its own, else the agent's default token, else anonymous. */
  effectiveSecret(presented: string): string {
    if (presented !== "") return presented;
    const fallback = this.agentTokens.get("default");
    return fallback !== "" ? fallback : ANONYMOUS_TOKEN_SECRET;
  }

  /**
   * The authorizer for a request's secret ("" when it carried none). A secret no live token
   * has is 403 `ACL not found`, never anonymous: an expired token is as unknown as a typo.
   */
  resolve(presented: string): Authorizer {
    if (this.agentTokens.isAgentRecovery(presented)) return this.#agentRecovery();
    const tables = this.#tables;
    const at = this.#resolvedAt;
    if (tables.tokens.tableIndex !== at.tokens || tables.policies.tableIndex !== at.policies || tables.roles.tableIndex !== at.roles) {
      this.#resolved.clear();
      this.#resolvedAt = { tokens: tables.tokens.tableIndex, policies: tables.policies.tableIndex, roles: tables.roles.tableIndex };
    }
    const digest = aclSecretDigest(this.effectiveSecret(presented));
    let hit = this.#resolved.get(digest);
    if (!hit) {
      const token = tables.tokens.getBySecretDigest(digest);
      if (!token) throw aclNotFound();
      const lookup = { policy: (id: string) => tables.policies.get(id), role: (id: string) => tables.roles.get(id) };
      hit = { token, authz: authorizerForToken(token, lookup, this.settings, this.#cache) };
      if (this.#resolved.size >= MAX_COMPILED) this.#resolved.clear();
      this.#resolved.set(digest, hit);
    }
    // Expiry is checked on every hit: an expired token stops resolving at once, before the reaper deletes it.
    if (aclTokenExpired(hit.token, this.#clock.now())) throw aclNotFound();
    return hit.authz;
  }

  /**
   * What DNS answers with: the agent's dns token, else its default token, else anonymous. A
   * token that does not resolve sees nothing rather than everything.
   */
  dnsAuthorizer(): Authorizer {
    try {
      return this.resolve(this.agentTokens.get("dns"));
    } catch {
      return DENY_EVERYTHING;
    }
  }

  /** PUT /v1/agent/token/default: requests without a token act as this one from now on. */
  setDefaultToken(secret: string): void {
    this.agentTokens.set("default", secret);
  }

  /**
   * PUT /v1/agent/token/<name>: replaces one agent token and, with persistence on, saves them
   * all before answering (a failed save rejects; the token is then set but not yet durable).
   */
  async setAgentToken(kind: AgentTokenKind, secret: string): Promise<void> {
    this.agentTokens.set(kind, secret);
    if (this.#persistAgentTokens) await this.#persistAgentTokens(this.agentTokens.values());
  }

  /**
   * Consul's agent recovery authorizer: write on this agent, read on every node, nothing else;
   * it needs no server, which is its point when the servers are unreachable.
   */
  #agentRecovery(): Authorizer {
    if (!this.#recoveryAuthorizer) {
      const node = JSON.stringify(this.settings.nodeName ?? "");
      const rules = this.#cache.get(`agent ${node} { policy = "write" }\nnode_prefix "" { policy = "read" }`);
      this.#recoveryAuthorizer = new Authorizer("agent-recovery-token", [new PolicyAuthorizer([rules])], denyAllRules);
    }
    return this.#recoveryAuthorizer;
  }

  writer(): WriterContext {
    return {
      tables: this.#tables,
      nowMs: this.#clock.now(),
      uuid: () => this.#rng.uuid(),
      minExpirationTtlMs: this.settings.minExpirationTtlMs,
      maxExpirationTtlMs: this.settings.maxExpirationTtlMs,
    };
  }
}
