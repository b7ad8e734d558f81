import { createHash } from "node:crypto";
import { aclNotFound } from "../errors/permission-denied.ts";
import { aclTokenExpired } from "../model/acl.ts";
import type { Authorizer } from "./authorizer.ts";
import { ANONYMOUS_TOKEN_SECRET } from "./builtin.ts";
import type { AclDownPolicy } from "./down-policy.ts";
import type { TokenResolution, TokenResolutionReply } from "./token-resolution.ts";

// A client agent's token resolution (Consul's ACLResolver on a client): it holds no ACL
// tables, so it asks a server (ACL.ResolveToken) and keeps the compiled answer for the TTL.
// When no server answers, `down_policy` decides (agent/consul/acl.go):
//   extend-cache  a cached answer keeps being used however old; uncached → deny
//   async-cache   as extend-cache, and a stale answer is served at once while a refresh runs
//   allow / deny  everything is allowed / denied until a server answers again
// "ACL not found" is an answer, cached like any other (Consul caches the missing identity),
// so a stream of bad secrets costs one RPC each per TTL. Entries are keyed by SHA-256 of the
// secret: the secret itself is never kept as a map key nor logged.

export interface RemoteTokenCacheDeps {
  /** Asks a server; rejects when none answered (connection, timeout, no servers). */
  fetch(secret: string): Promise<TokenResolutionReply>;
  /** Compiles a server's answer into this agent's authorizer (its datacenter, default policy), in slices. */
  compile(resolution: TokenResolution): Promise<Authorizer>;
  /** What applies while no server answers and nothing usable is cached. */
  downAuthorizer: Authorizer;
  downPolicy: AclDownPolicy;
  /** How long an answer is used before asking again (min of token_ttl, policy_ttl, role_ttl). */
  ttlMs: number;
  /** Monotonic milliseconds. */
  nowMs(): number;
  /** Wall-clock milliseconds, for token expiry. */
  wallMs(): number;
  /** Told about each failed fetch (never given the secret). */
  onFetchError(err: unknown): void;
}

interface Entry {
  /** Undefined: the servers said the secret is unknown. */
  authz: Authorizer | undefined;
  expirationTime: string | undefined;
  fetchedAt: number;
}

/** Bound on cached secrets; past it the oldest go first. */
const MAX_ENTRIES = 16_384;

export function secretCacheKey(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("base64");
}

export class RemoteTokenCache {
  readonly #deps: RemoteTokenCacheDeps;
  readonly #entries = new Map<string, Entry>();
  /** One fetch per secret at a time; concurrent requests share it. */
  readonly #inFlight = new Map<string, Promise<Authorizer>>();

  constructor(deps: RemoteTokenCacheDeps) {
    this.#deps = deps;
  }

  get downPolicy(): AclDownPolicy {
    return this.#deps.downPolicy;
  }

  /**
   * The answer from memory when one may be used now: fresh, or (async-cache) stale with a
   * refresh started. Undefined: `resolve` must ask a server first. Throws `ACL not found`.
   */
  cached(secret: string): Authorizer | undefined {
    const key = secretCacheKey(secret);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const fresh = this.#deps.nowMs() - entry.fetchedAt < this.#deps.ttlMs;
    if (!fresh) {
      if (this.#deps.downPolicy !== "async-cache") return undefined;
      void this.#fetchShared(key, secret, entry).catch(() => {});
    }
    return this.#use(entry);
  }

  /**
   * For callers that cannot wait (DNS): any cached answer however old, with a refresh started
   * when it is stale or missing. Undefined until a first answer arrived.
   */
  servedStale(secret: string): Authorizer | undefined {
    const key = secretCacheKey(secret);
    const entry = this.#entries.get(key);
    if (!entry || this.#deps.nowMs() - entry.fetchedAt >= this.#deps.ttlMs) void this.#fetchShared(key, secret, entry).catch(() => {});
    return entry ? this.#use(entry) : undefined;
  }

  /** Whether any answer (however old) is cached for `secret`. */
  hasAnswer(secret: string): boolean {
    return this.#entries.has(secretCacheKey(secret));
  }

  /** Asks a server (or shares a question already asked) and applies the down policy on failure. */
  resolve(secret: string): Promise<Authorizer> {
    const key = secretCacheKey(secret);
    return this.#fetchShared(key, secret, this.#entries.get(key));
  }

  /** Forgets everything (tests; a token's rights changed and must be re-read). */
  clear(): void {
    this.#entries.clear();
  }

  #use(entry: Entry): Authorizer {
    if (!entry.authz || (entry.expirationTime !== undefined && aclTokenExpired({ ExpirationTime: entry.expirationTime }, this.#deps.wallMs()))) {
      throw aclNotFound();
    }
    return entry.authz;
  }

  #fetchShared(key: string, secret: string, cached: Entry | undefined): Promise<Authorizer> {
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const work = this.#fetch(key, secret, cached).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, work);
    return work;
  }

  async #fetch(key: string, secret: string, cached: Entry | undefined): Promise<Authorizer> {
    let reply: TokenResolutionReply;
    try {
      reply = await this.#deps.fetch(secret);
    } catch (err) {
      this.#deps.onFetchError(err);
      const extend = this.#deps.downPolicy === "extend-cache" || this.#deps.downPolicy === "async-cache";
      if (cached && extend) {
        this.#put(key, { ...cached, fetchedAt: this.#deps.nowMs() });
        return this.#use(cached);
      }
      return this.#deps.downAuthorizer;
    }
    const entry: Entry = reply.found
      ? { authz: await this.#deps.compile(reply), expirationTime: reply.token.ExpirationTime, fetchedAt: this.#deps.nowMs() }
      : { authz: undefined, expirationTime: undefined, fetchedAt: this.#deps.nowMs() };
    // The anonymous token exists once a new cluster's leader has set up ACLs: a client that
    // asked a moment too early must not keep "not found" for a whole TTL.
    if (reply.found || secret !== ANONYMOUS_TOKEN_SECRET) this.#put(key, entry);
    return this.#use(entry);
  }

  #put(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, entry);
  }
}
