import { AclService, DEFAULT_MAX_EXPIRATION_TTL_MS, DEFAULT_MIN_EXPIRATION_TTL_MS } from "../acl/service.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import { establishAclObjects } from "../server/acl-leader-setup.ts";
import { AclTokenReaper } from "../server/acl-token-reaper.ts";
import type { Consensus } from "../server/consensus.ts";
import type { StateStore } from "../state/store.ts";
import { aclBootstrapResetFile } from "../storage/acl-bootstrap-reset.ts";

// The ACL system's wiring: the service handlers use, and on servers the leader duties (built-in
// objects at election, expired-token reaping). Only in-process tests turn it on for now: the
// configuration gate refuses `acl.enabled` until every endpoint, DNS and RPC path enforces.

export interface AclWiringOptions {
  defaultPolicy: "allow" | "deny";
  /** acl.tokens.initial_management */
  initialManagement?: string;
  /** acl.tokens.default */
  defaultToken?: string;
  /** Where acl-bootstrap-reset is looked for; none: bootstrap cannot be reset. */
  dataDir?: string;
}

export interface RunningAcl {
  service: AclService;
  stop(): void;
}

export function startAclSystem(
  options: AclWiringOptions,
  deps: { state: StateStore; consensus: Consensus; clock: Clock; rng: Rng; logger: Logger; datacenter: string; server: boolean },
): RunningAcl {
  const { state, consensus, clock, rng, logger } = deps;
  const service = new AclService({
    tables: state.acl,
    clock,
    rng,
    settings: {
      datacenter: deps.datacenter,
      defaultPolicy: options.defaultPolicy,
      downPolicy: "extend-cache",
      defaultToken: options.defaultToken ?? "",
      minExpirationTtlMs: DEFAULT_MIN_EXPIRATION_TTL_MS,
      maxExpirationTtlMs: DEFAULT_MAX_EXPIRATION_TTL_MS,
    },
    bootstrapReset: options.dataDir ? aclBootstrapResetFile(options.dataDir) : undefined,
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
