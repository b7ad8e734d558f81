import { AgentTokens, type AgentTokenValues } from "../acl/agent-tokens.ts";
import { allowAllRules, denyAllRules, staticAuthorizer } from "../acl/authorizer.ts";
import { RemoteTokenCache } from "../acl/remote-token-cache.ts";
import { authorizerForTokenSteps, RulesCache, type ResolveSettings } from "../acl/resolve.ts";
import { lookupOf, type TokenResolutionReply } from "../acl/token-resolution.ts";
import type { AclDownPolicy } from "../acl/down-policy.ts";
import { AclService, DEFAULT_MAX_EXPIRATION_TTL_MS, DEFAULT_MIN_EXPIRATION_TTL_MS } from "../acl/service.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import { runSliced } from "../runtime/sliced-work.ts";
import { establishAclObjects } from "../server/acl-leader-setup.ts";
import { AclTokenReaper } from "../server/acl-token-reaper.ts";
import type { Consensus } from "../server/consensus.ts";
import type { StateStore } from "../state/store.ts";
import { aclBootstrapResetFile } from "../storage/acl-bootstrap-reset.ts";
import { loadAgentTokens, saveAgentTokens } from "../storage/acl-token-file.ts";

// The ACL system's wiring: the service handlers use, and on servers the leader duties (built-in
// objects at election, expired-token reaping). `acl.enabled = true` in the configuration turns it
// on (launch/from-config.ts maps the acl stanza onto these options); tests may pass them directly.
// A client agent holds no ACL tables: it resolves tokens through a server (ACL.ResolveToken) and
// caches the answers (remote-token-cache.ts); servers resolve from their own replicated tables.

export interface AclWiringOptions {
  defaultPolicy: "allow" | "deny";
  /** acl.down_policy (default extend-cache): what a client agent does when no server answers a token lookup. */
  downPolicy?: AclDownPolicy;
  /** acl.token_ttl / policy_ttl / role_ttl: how long a client agent may cache a resolution (default 30s). */
  tokenTtlMs?: number;
  policyTtlMs?: number;
  roleTtlMs?: number;
  /** acl.enable_key_list_policy: ?recurse and ?keys KV reads need key:list on the prefix. */
  enableKeyListPolicy?: boolean;
  /** acl.tokens.initial_management */
  initialManagement?: string;
  /** acl.tokens.default */
  defaultToken?: string;
  /** The other acl.tokens.* (agent, agent_recovery, replication, config_file_service_registration, dns). */
  agentTokens?: AgentTokenValues;
  /**
   * acl.enable_token_persistence: tokens set through /v1/agent/token/* are saved in
   * <dataDir>/acl-tokens.json and, at start, override the configured ones. Needs dataDir.
   */
  enableTokenPersistence?: boolean;
  /** Where acl-bootstrap-reset (and acl-tokens.json) live; none: bootstrap cannot be reset. */
  dataDir?: string;
}

const DEFAULT_ACL_TTL_MS = 30_000;

/**
 * A client agent's cache of servers' answers. One entry holds a token with its policies and
 * roles, so it lives as long as the shortest of token_ttl, policy_ttl and role_ttl.
 */
function remoteTokenCache(
  options: AclWiringOptions,
  settings: ResolveSettings,
  fetch: (secret: string) => Promise<TokenResolutionReply>,
  clock: Clock,
  logger: Logger,
): RemoteTokenCache {
  const rulesCache = new RulesCache();
  const downPolicy = options.downPolicy ?? "extend-cache";
  const aclLogger = logger.named("agent.acl");
  return new RemoteTokenCache({
    fetch,
    compile: (resolution) => runSliced(authorizerForTokenSteps(resolution.token, lookupOf(resolution), settings, rulesCache)),
    // Consul: allow → AllowAll; deny, and extend/async-cache without a cached answer → DenyAll.
    downAuthorizer: staticAuthorizer(downPolicy === "allow" ? allowAllRules : denyAllRules),
    downPolicy,
    ttlMs: Math.min(options.tokenTtlMs ?? DEFAULT_ACL_TTL_MS, options.policyTtlMs ?? DEFAULT_ACL_TTL_MS, options.roleTtlMs ?? DEFAULT_ACL_TTL_MS),
    nowMs: () => clock.monotonicMs(),
    wallMs: () => clock.now(),
    // The error names the RPC failure, never the secret.
    onFetchError: (err) => aclLogger.error("Error resolving token", { error: err instanceof Error ? err.message : String(err), downPolicy }),
  });
}

export interface RunningAcl {
  service: AclService;
  stop(): void;
}

export async function startAclSystem(
  options: AclWiringOptions,
  deps: {
    state: StateStore;
    consensus: Consensus;
    clock: Clock;
    rng: Rng;
    logger: Logger;
    datacenter: string;
    nodeName: string;
    server: boolean;
    /** Client agents: asks a server about a secret (ACL.ResolveToken). */
    resolveRemotely?: (secret: string) => Promise<TokenResolutionReply>;
  },
): Promise<RunningAcl> {
  const { state, consensus, clock, rng, logger } = deps;
  const agentTokens = new AgentTokens({ ...options.agentTokens, default: options.defaultToken ?? "" });
  const dataDir = options.dataDir;
  const persist = options.enableTokenPersistence === true && dataDir !== undefined && dataDir !== "";
  if (persist) {
    try {
      // Like Consul: a token saved through the API wins over the configured one.
      agentTokens.update(await loadAgentTokens(dataDir));
    } catch (err) {
      logger.named("agent").warn("unable to load persisted tokens", { error: err instanceof Error ? err.message : String(err) });
    }
  }
  const settings = {
    datacenter: deps.datacenter,
    defaultPolicy: options.defaultPolicy,
    downPolicy: options.downPolicy ?? "extend-cache",
    enableKeyListPolicy: options.enableKeyListPolicy === true,
    defaultToken: options.defaultToken ?? "",
    nodeName: deps.nodeName,
    minExpirationTtlMs: DEFAULT_MIN_EXPIRATION_TTL_MS,
    maxExpirationTtlMs: DEFAULT_MAX_EXPIRATION_TTL_MS,
  };
  const remote = !deps.server && deps.resolveRemotely ? remoteTokenCache(options, settings, deps.resolveRemotely, clock, logger) : undefined;
  const service = new AclService({
    tables: state.acl,
    clock,
    rng,
    settings,
    remote,
    leadership: deps.server ? consensus : undefined,
    bootstrapReset: options.dataDir ? aclBootstrapResetFile(options.dataDir) : undefined,
    agentTokens,
    persistAgentTokens: persist ? (tokens) => saveAgentTokens(dataDir, tokens) : undefined,
  });
  if (!deps.server) return { service, stop: () => {} };
  const aclLogger = logger.named("consul.acl");
  const reaper = new AclTokenReaper({ clock, consensus, state, logger: aclLogger });
  reaper.start();
  const setup = () => establishAclObjects({ consensus, state, clock, rng, logger: aclLogger, initialManagement: options.initialManagement ?? "" });
  const stopWatch = consensus.onLeadershipChange((leading) => {
    if (leading) void setup();
  });
  if (consensus.isLeader()) void setup();
  return {
    service,
    stop() {
      stopWatch();
      reaper.stop();
    },
  };
}
