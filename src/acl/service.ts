import { aclNotFound } from "../errors/permission-denied.ts";
import { aclTokenExpiresAtMs, type AclToken } from "../model/acl.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Rng } from "../runtime/rng.ts";
import { runSliced, runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import type { AclTables } from "../state/acl-tables.ts";
import type { AclBootstrapResetFile } from "../storage/acl-bootstrap-reset.ts";
import { AgentTokens, type AgentTokenKind, type AgentTokenValues } from "./agent-tokens.ts";
import { Authorizer, denyAllRules, staticAuthorizer } from "./authorizer.ts";
import { ANONYMOUS_TOKEN_SECRET } from "./builtin.ts";
import type { WriterContext } from "./object-writers.ts";
import { PolicyAuthorizer } from "./policy-authorizer.ts";
import type { RemoteTokenCache } from "./remote-token-cache.ts";
import { compileAuthorizerSteps, effectiveRuleTexts, RulesCache } from "./resolve.ts";
import { resolutionFromTables, type TokenResolutionReply } from "./token-resolution.ts";

// The ACL system of one agent with ACLs enabled: token resolution (the one place a request's
// secret becomes an Authorizer) and what ACL writes need. Present on HttpContext only when
// ACLs are enabled; its absence is what makes /v1/acl/* answer 401 "ACL support disabled".

/** What a server needs to know of its consensus to catch up before calling a secret unknown. */
export interface AclLeadership {
  isLeader(): boolean;
  /** Resolves once this server has applied everything the leader had committed when asked. */
  readBarrier(): Promise<void>;
}

export interface AclSettings {
  datacenter: string;
  defaultPolicy: "allow" | "deny";
  /** What a client agent does when no server answers (remote-token-cache.ts); servers answer themselves. */
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
/** A client agent asked for a secret it never fetched (every request path fetches first): nothing is allowed. */
const UNRESOLVED = staticAuthorizer(denyAllRules);
/** Bound on cached resolutions (one per token in use). */
const MAX_RESOLVED = 16_384;
export const DEFAULT_MAX_EXPIRATION_TTL_MS = 24 * 3_600_000;

/** A live token whose rules are not compiled yet: what resolving it reads from the state. */
interface Uncompiled {
  token: AclToken;
  texts: readonly string[];
  /** The cache generation the token and texts were read in. */
  generation: number;
}

/** A sliced compilation in flight, shared by the requests that wait for it. */
interface Compiling {
  found: Uncompiled;
  authz: Promise<Authorizer>;
}

interface Resolution {
  token: AclToken;
  /** The rule texts the authorizer was compiled from (effectiveRuleTexts). */
  texts: readonly string[];
  authz: Authorizer;
  /** When the token stops resolving (Infinity: never). */
  expiresAtMs: number;
  /** The cache generation this entry was last confirmed in. */
  generation: number;
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}


export class AclService {
  readonly settings: AclSettings;
  readonly #tables: AclTables;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #cache = new RulesCache();
  /**
   * Resolutions by the presented secret: the token, its compiled authorizer and the rule texts
   * it was compiled from. A request costs one map lookup — no digest, no state read, no rule
   * merging. The lookup is a hash-table probe, as Consul's own token cache is keyed by secret:
   * the stored secret's bytes are compared only once the string hashes agree, so timing tells
   * a caller nothing about how close a guess came. Only secrets that resolved are kept (an
   * unknown one throws), so the keys are live tokens' secrets, which the state holds anyway —
   * unlike a client agent's cache, which also remembers "not found" and so keys by digest
   * (remote-token-cache.ts). Bounded (oldest out first).
   */
  readonly #resolved = new Map<string, Resolution>();
  /** Sliced compilations in flight, by secret. */
  readonly #compiling = new Map<string, Compiling>();
  /** How sliced compilations run (runSliced; tests count the steps). */
  readonly #runSteps: <T>(work: SlicedWork<T>) => Promise<T>;
  /** The ACL tables' indexes when every entry of #resolved was last known to be current. */
  #tokensAt = -1;
  #policiesAt = -1;
  #rolesAt = -1;
  /** Bumped whenever those indexes move; an entry of an older generation is re-checked before use. */
  #generation = 0;
  /** Absent without a data dir: bootstrap can then never be reset. */
  readonly bootstrapReset: AclBootstrapResetFile | undefined;
  /** The agent's own tokens (default, agent, agent_recovery, replication, …). */
  readonly agentTokens: AgentTokens;
  /** Saves the agent tokens when acl.enable_token_persistence is on; absent otherwise. */
  readonly #persistAgentTokens: ((tokens: AgentTokenValues) => Promise<void>) | undefined;
  #recoveryAuthorizer: Authorizer | undefined;
  /** Client agents: tokens are resolved by a server and cached here; the local tables are empty. */
  readonly #remote: RemoteTokenCache | undefined;
  /** Servers: lets a follower that does not know a secret catch up with the leader first. */
  readonly #leadership: AclLeadership | undefined;

  constructor(deps: {
    tables: AclTables;
    clock: Clock;
    rng: Rng;
    settings: AclSettings;
    bootstrapReset?: AclBootstrapResetFile;
    agentTokens?: AgentTokens;
    persistAgentTokens?: (tokens: AgentTokenValues) => Promise<void>;
    remote?: RemoteTokenCache;
    leadership?: AclLeadership;
    /** Runs a sliced compilation of a token's rules; runSliced by default. */
    runSteps?: <T>(work: SlicedWork<T>) => Promise<T>;
  }) {
    this.#tables = deps.tables;
    this.#clock = deps.clock;
    this.#rng = deps.rng;
    this.settings = deps.settings;
    this.bootstrapReset = deps.bootstrapReset;
    this.agentTokens = deps.agentTokens ?? new AgentTokens({ default: deps.settings.defaultToken });
    this.#persistAgentTokens = deps.persistAgentTokens;
    this.#remote = deps.remote;
    this.#leadership = deps.leadership;
    this.#runSteps = deps.runSteps ?? ((work) => runSliced(work));
  }

  /** True on a client agent: decisions come from a server's answer, not from local tables. */
  get resolvesRemotely(): boolean {
    return this.#remote !== undefined;
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
   * On a client agent this answers from the cache only: `resolveRequest` fetches first.
   */
  resolve(presented: string): Authorizer {
    if (this.agentTokens.isAgentRecovery(presented)) return this.#agentRecovery();
    return this.resolveSecret(this.effectiveSecret(presented));
  }

  /**
   * The authorizer for exactly this secret (no default-token fallback: RPC callers already
   * applied theirs). A secret whose rules are not compiled yet is compiled here, in this turn:
   * request paths go through `resolveSecretPending` first, which compiles in slices.
   */
  resolveSecret(secret: string): Authorizer {
    if (this.#remote) return this.#remote.cached(secret) ?? UNRESOLVED;
    const found = this.#lookup(secret);
    const hit = "authz" in found ? found : this.#install(secret, found, runWhole(this.#compileSteps(found)));
    return this.#unexpired(hit);
  }

  /** Expiry is checked on every hit: an expired token stops resolving at once, before the reaper deletes it. */
  #unexpired(hit: Resolution): Authorizer {
    if (hit.expiresAtMs < this.#clock.now()) throw aclNotFound();
    return hit.authz;
  }

  /**
   * Moves on to a new generation when an ACL table changed since the last look: entries of an
   * older generation are then re-checked on their next use instead of being thrown away, so a
   * token write elsewhere does not cost every other token a recompilation.
   */
  #currentGeneration(): number {
    const tables = this.#tables;
    if (tables.tokens.tableIndex !== this.#tokensAt || tables.policies.tableIndex !== this.#policiesAt || tables.roles.tableIndex !== this.#rolesAt) {
      this.#tokensAt = tables.tokens.tableIndex;
      this.#policiesAt = tables.policies.tableIndex;
      this.#rolesAt = tables.roles.tableIndex;
      this.#generation++;
    }
    return this.#generation;
  }

  /**
   * The secret's resolution when memory holds a current one — kept from an older generation
   * when neither the token row nor the rule texts it resolves to changed — else the token and
   * the rule texts to compile. Throws `ACL not found` for a secret no token has.
   */
  #lookup(secret: string): Resolution | Uncompiled {
    const generation = this.#currentGeneration();
    const previous = this.#resolved.get(secret);
    if (previous !== undefined && previous.generation === generation) return previous;
    const tables = this.#tables;
    const token = tables.tokens.getBySecret(secret);
    if (!token) {
      if (previous !== undefined) this.#resolved.delete(secret);
      throw aclNotFound();
    }
    const lookup = { policy: (id: string) => tables.policies.get(id), role: (id: string) => tables.roles.get(id) };
    const texts = effectiveRuleTexts(token, lookup, this.settings.datacenter);
    if (previous !== undefined && previous.token === token && sameTexts(previous.texts, texts)) {
      previous.generation = generation;
      return previous;
    }
    return { token, texts, generation };
  }

  #compileSteps(found: Uncompiled): SlicedWork<Authorizer> {
    return compileAuthorizerSteps(found.token.AccessorID, found.texts, this.settings, this.#cache);
  }

  /**
   * Keeps a compiled resolution, unless one read in a later generation was kept meanwhile (a
   * sliced compile that finished after a newer one must not put older rules back).
   */
  #install(secret: string, found: Uncompiled, authz: Authorizer): Resolution {
    const fresh: Resolution = {
      token: found.token,
      texts: found.texts,
      authz,
      expiresAtMs: aclTokenExpiresAtMs(found.token), // once, not an ExpirationTime parse per request
      generation: found.generation,
    };
    const kept = this.#resolved.get(secret);
    if (kept !== undefined && kept.generation > found.generation) return fresh;
    if (kept === undefined && this.#resolved.size >= MAX_RESOLVED) this.#resolved.delete(this.#resolved.keys().next().value as string);
    this.#resolved.set(secret, fresh);
    return fresh;
  }

  /**
   * Undefined when `resolveSecret` answers from memory now (or throws `ACL not found` now);
   * otherwise the compilation of the secret's rules, in slices (`runSteps`), then kept as a
   * `resolveSecret` would keep it. Requests for the same secret and rule texts share one
   * compilation.
   */
  #compileSliced(secret: string): Promise<Authorizer> | undefined {
    let found: Resolution | Uncompiled;
    try {
      found = this.#lookup(secret);
    } catch {
      return undefined;
    }
    return "authz" in found ? undefined : this.#compileShared(secret, found);
  }

  /** The secret's authorizer from memory, else its sliced compilation; throws `ACL not found`. One lookup. */
  #resolveLocal(secret: string): Authorizer | Promise<Authorizer> {
    const found = this.#lookup(secret);
    return "authz" in found ? this.#unexpired(found) : this.#compileShared(secret, found);
  }

  #compileShared(secret: string, found: Uncompiled): Promise<Authorizer> {
    const running = this.#compiling.get(secret);
    if (running !== undefined && running.found.token === found.token && sameTexts(running.found.texts, found.texts)) return running.authz;
    const compiling: Compiling = {
      found,
      authz: this.#runSteps(this.#compileSteps(found))
        .finally(() => {
          if (this.#compiling.get(secret) === compiling) this.#compiling.delete(secret);
        })
        .then((authz) => this.#unexpired(this.#install(secret, found, authz))),
    };
    this.#compiling.set(secret, compiling);
    return compiling.authz;
  }

  /**
   * A request's authorizer: at once when memory can answer (the hot path on a leader, and a
   * client agent's cache hit; an unknown secret then throws `ACL not found` at once), else the
   * resolution to wait for: a client agent asks a server, a follower that does not know the
   * secret first catches up with the leader, so a token created a moment ago on another server
   * works here at once, and rules not compiled yet are compiled in slices. One call per
   * request: the secret is looked up once.
   */
  resolveRequest(presented: string): Authorizer | Promise<Authorizer> {
    if (this.agentTokens.isAgentRecovery(presented)) return this.#agentRecovery();
    const secret = this.effectiveSecret(presented);
    const remote = this.#remote;
    if (remote) return remote.cached(secret) ?? remote.resolve(secret);
    return this.#catchUp(secret) ?? this.#resolveLocal(secret);
  }

  /** On a follower that does not know the secret: its resolution once caught up with the leader. */
  #catchUp(secret: string): Promise<Authorizer> | undefined {
    const leadership = this.#leadership;
    if (!leadership || leadership.isLeader() || this.#resolved.has(secret) || this.#tables.tokens.getBySecret(secret)) return undefined;
    const again = (): Authorizer | Promise<Authorizer> => this.#resolveLocal(secret);
    return leadership.readBarrier().then(again, again);
  }

  /**
   * Undefined when `resolveSecret(secret)` answers now; otherwise the resolution to wait for
   * (see resolveRequest), after which `resolveSecret` answers from memory.
   */
  resolveSecretPending(secret: string): Promise<Authorizer> | undefined {
    const remote = this.#remote;
    if (remote) {
      try {
        const cached = remote.cached(secret);
        if (cached) return Promise.resolve(cached);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return remote.resolve(secret);
    }
    return this.#catchUp(secret) ?? this.#compileSliced(secret);
  }

  /** What a server answers a client agent's ACL.ResolveToken with (a follower catches up before saying "unknown"). */
  async tokenResolution(secret: string): Promise<TokenResolutionReply> {
    const tables = {
      tokenBySecret: (s: string) => this.#tables.tokens.getBySecret(s),
      policy: (id: string) => this.#tables.policies.get(id),
      role: (id: string) => this.#tables.roles.get(id),
    };
    const reply = resolutionFromTables(tables, secret, this.#clock.now());
    const leadership = this.#leadership;
    if (reply.found || !leadership || leadership.isLeader()) return reply;
    await leadership.readBarrier().catch(() => {});
    return resolutionFromTables(tables, secret, this.#clock.now());
  }

  /**
   * The secret the agent's node-info writes and removals carry (Consul's AgentToken):
   * acl.tokens.agent, else the default token ("": anonymous).
   */
  agentSecret(): string {
    const agent = this.agentTokens.get("agent");
    return agent !== "" ? agent : this.agentTokens.get("default");
  }

  /**
   * The AccessorID `token` (a secret; "" = anonymous) resolves to, for warnings about the
   * agent's own refused writes (Consul's aclAccessorID): "" when it resolves to nothing.
   */
  async accessorIdOf(token: string): Promise<string> {
    const secret = token === "" ? ANONYMOUS_TOKEN_SECRET : token;
    try {
      return ((await this.resolveSecretPending(secret)) ?? this.resolveSecret(secret)).accessorId;
    } catch {
      return "";
    }
  }

  /**
   * What DNS answers with: the agent's dns token, else its default token, else anonymous. A
   * token that does not resolve sees nothing rather than everything.
   */
  dnsAuthorizer(): Authorizer {
    try {
      const dns = this.agentTokens.get("dns");
      // A client agent answers DNS from whatever it has cached (even stale), refreshing in the
      // background: a DNS answer cannot wait for a server.
      if (this.#remote) return this.#remote.servedStale(this.effectiveSecret(dns)) ?? DENY_EVERYTHING;
      return this.resolve(dns);
    } catch {
      return DENY_EVERYTHING;
    }
  }

  /**
   * Undefined when `dnsAuthorizer` can answer now; on a client agent that never resolved its
   * DNS token yet, the first lookup to wait for (a DNS answer then never comes from "no answer yet").
   */
  dnsAuthorizerReady(): Promise<void> | undefined {
    const remote = this.#remote;
    if (!remote) return undefined;
    const secret = this.effectiveSecret(this.agentTokens.get("dns"));
    if (remote.hasAnswer(secret)) return undefined;
    return remote.resolve(secret).then(
      () => {},
      () => {},
    );
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
