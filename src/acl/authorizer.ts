import { PermissionDeniedError, type AclLevelName, type AclResourceName } from "../errors/permission-denied.ts";

// One question an enforcement point asks, and the Authorizer that answers it for one token.
// Rules answer "default" when nothing matches; a token's authorizer chains its rules onto
// the agent's default policy (allow or deny), so what handlers see is always allow or deny.

export type Decision = "allow" | "deny";
export type RuleDecision = Decision | "default";

/**
 * Every permission Consul checks (acl/authorizer.go). The `-all`/`-any`/`-prefix` forms ask
 * about many names at once: `key:write-prefix` needs write on the prefix and on every rule
 * under it; `node:read-all` needs read on every node; `service:write-any` write on some service.
 */
export type Operation =
  | "acl:read"
  | "acl:write"
  | "agent:read"
  | "agent:write"
  | "event:read"
  | "event:write"
  | "intention:read"
  | "intention:write"
  | "intention:default-allow"
  | "key:read"
  | "key:list"
  | "key:write"
  | "key:write-prefix"
  | "keyring:read"
  | "keyring:write"
  | "mesh:read"
  | "mesh:write"
  | "peering:read"
  | "peering:write"
  | "node:read"
  | "node:read-all"
  | "node:write"
  | "operator:read"
  | "operator:write"
  | "query:read"
  | "query:write"
  | "service:read"
  | "service:read-all"
  | "service:write"
  | "service:write-any"
  | "session:read"
  | "session:write"
  | "snapshot";

/** A source of rule decisions: a compiled set of policies, or a static default. */
export interface RuleSource {
  decide(op: Operation, name: string): RuleDecision;
}

/** The static authorizers (acl/static_authorizer.go): ACL and snapshot need management. */
export class StaticRules implements RuleSource {
  readonly #allowManage: boolean;
  readonly #defaultAllow: boolean;

  constructor(allowManage: boolean, defaultAllow: boolean) {
    this.#allowManage = allowManage;
    this.#defaultAllow = defaultAllow;
  }

  decide(op: Operation): Decision {
    if (op === "acl:read" || op === "acl:write" || op === "snapshot") return this.#allowManage ? "allow" : "deny";
    return this.#defaultAllow ? "allow" : "deny";
  }
}

export const allowAllRules = new StaticRules(false, true);
export const denyAllRules = new StaticRules(false, false);
export const manageAllRules = new StaticRules(true, true);

/**
 * What one request may do. Methods mirror Consul's Authorizer; each answers allow or deny.
 * `accessorId` names the token in refusals ("" when there is none to name).
 */
export class Authorizer {
  readonly accessorId: string;
  readonly #sources: readonly RuleSource[];
  readonly #fallback: StaticRules;

  constructor(accessorId: string, sources: readonly RuleSource[], fallback: StaticRules) {
    this.accessorId = accessorId;
    this.#sources = sources;
    this.#fallback = fallback;
  }

  /** The first source with an opinion decides; otherwise the default policy. */
  decide(op: Operation, name = ""): Decision {
    for (const s of this.#sources) {
      const d = s.decide(op, name);
      if (d !== "default") return d;
    }
    return this.#fallback.decide(op);
  }

  allowed(op: Operation, name = ""): boolean {
    return this.decide(op, name) === "allow";
  }

  /** Throws Consul's PermissionDenied (403) unless `op` on `name` is allowed. */
  require(op: Operation, name = ""): void {
    if (this.decide(op, name) === "allow") return;
    const { resource, level, shownName } = describeOperation(op, name);
    throw new PermissionDeniedError(this.accessorId, resource, level, shownName);
  }

  aclRead(): Decision { return this.decide("acl:read"); }
  aclWrite(): Decision { return this.decide("acl:write"); }
  agentRead(node: string): Decision { return this.decide("agent:read", node); }
  agentWrite(node: string): Decision { return this.decide("agent:write", node); }
  eventRead(name: string): Decision { return this.decide("event:read", name); }
  eventWrite(name: string): Decision { return this.decide("event:write", name); }
  intentionRead(service: string): Decision { return this.decide("intention:read", service); }
  intentionWrite(service: string): Decision { return this.decide("intention:write", service); }
  intentionDefaultAllow(): Decision { return this.decide("intention:default-allow"); }
  keyRead(key: string): Decision { return this.decide("key:read", key); }
  keyList(prefix: string): Decision { return this.decide("key:list", prefix); }
  keyWrite(key: string): Decision { return this.decide("key:write", key); }
  keyWritePrefix(prefix: string): Decision { return this.decide("key:write-prefix", prefix); }
  keyringRead(): Decision { return this.decide("keyring:read"); }
  keyringWrite(): Decision { return this.decide("keyring:write"); }
  meshRead(): Decision { return this.decide("mesh:read"); }
  meshWrite(): Decision { return this.decide("mesh:write"); }
  peeringRead(): Decision { return this.decide("peering:read"); }
  peeringWrite(): Decision { return this.decide("peering:write"); }
  nodeRead(node: string): Decision { return this.decide("node:read", node); }
  nodeReadAll(): Decision { return this.decide("node:read-all"); }
  nodeWrite(node: string): Decision { return this.decide("node:write", node); }
  operatorRead(): Decision { return this.decide("operator:read"); }
  operatorWrite(): Decision { return this.decide("operator:write"); }
  preparedQueryRead(name: string): Decision { return this.decide("query:read", name); }
  preparedQueryWrite(name: string): Decision { return this.decide("query:write", name); }
  serviceRead(name: string): Decision { return this.decide("service:read", name); }
  serviceReadAll(): Decision { return this.decide("service:read-all"); }
  serviceWrite(name: string): Decision { return this.decide("service:write", name); }
  serviceWriteAny(): Decision { return this.decide("service:write-any"); }
  sessionRead(node: string): Decision { return this.decide("session:read", node); }
  sessionWrite(node: string): Decision { return this.decide("session:write", node); }
  snapshot(): Decision { return this.decide("snapshot"); }
}

/** How a refused operation is worded (acl/authorizer.go's *Allowed helpers). */
function describeOperation(op: Operation, name: string): { resource: AclResourceName; level: AclLevelName; shownName: string } {
  switch (op) {
    case "snapshot":
      return { resource: "acl", level: "write", shownName: "" };
    case "key:write-prefix":
      return { resource: "key", level: "write", shownName: name };
    case "node:read-all":
      return { resource: "node", level: "read", shownName: "all nodes" };
    case "service:read-all":
      return { resource: "service", level: "read", shownName: "all services" };
    case "service:write-any":
      return { resource: "service", level: "write", shownName: "any service" };
    case "intention:default-allow":
      return { resource: "intention", level: "read", shownName: "" };
    default: {
      const [resource, level] = op.split(":") as [AclResourceName, AclLevelName];
      const unnamed = resource === "acl" || resource === "keyring" || resource === "operator" || resource === "mesh" || resource === "peering";
      return { resource, level, shownName: unnamed ? "" : name };
    }
  }
}

/** An authorizer from the static policies alone: ACLs disabled (allow all) or management. */
export function staticAuthorizer(rules: StaticRules, accessorId = ""): Authorizer {
  return new Authorizer(accessorId, [], rules);
}
