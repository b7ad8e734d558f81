// The built-in ACL objects and the synthetic policies identities stand for
// (agent/structs/acl.go, acl_templated_policy*.go, spec/acl.md §2). Their rules are texts in
// the same language as users' policies and go through the same parser.

export const GLOBAL_MANAGEMENT_POLICY_ID = "00000000-0000-0000-0000-000000000001";
export const GLOBAL_MANAGEMENT_POLICY_NAME = "global-management";
export const GLOBAL_MANAGEMENT_POLICY_DESCRIPTION = "Builtin Policy that grants unlimited access";

export const GLOBAL_READ_ONLY_POLICY_ID = "00000000-0000-0000-0000-000000000002";
export const GLOBAL_READ_ONLY_POLICY_NAME = "builtin/global-read-only";
export const GLOBAL_READ_ONLY_POLICY_DESCRIPTION = "Builtin Policy that grants unlimited read-only access to all components";

/** IDs with this prefix are reserved for built-ins; generated IDs never use it. */
export const RESERVED_ID_PREFIX = "00000000-0000-0000-0000-0000000000";

export const ANONYMOUS_TOKEN_ACCESSOR_ID = "00000000-0000-0000-0000-000000000002";
export const ANONYMOUS_TOKEN_SECRET = "anonymous";
export const ANONYMOUS_TOKEN_DESCRIPTION = "Anonymous Token";
export const INITIAL_MANAGEMENT_TOKEN_DESCRIPTION = "Initial Management Token";
export const BOOTSTRAP_TOKEN_DESCRIPTION = "Bootstrap Token (Global Management)";

function everything(level: "read" | "write"): string {
  return `
acl = "${level}"
agent_prefix "" {
	policy = "${level}"
}
event_prefix "" {
	policy = "${level}"
}
key_prefix "" {
	policy = "${level}"
}
keyring = "${level}"
node_prefix "" {
	policy = "${level}"
}
operator = "${level}"
mesh = "${level}"
peering = "${level}"
query_prefix "" {
	policy = "${level}"
}
service_prefix "" {
	policy = "${level}"
	intentions = "${level}"
}
session_prefix "" {
	policy = "${level}"
}`;
}

export const GLOBAL_MANAGEMENT_RULES = everything("write");
export const GLOBAL_READ_ONLY_RULES = everything("read");

export interface BuiltinPolicy {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
}

export const BUILTIN_POLICIES: readonly BuiltinPolicy[] = [
  { ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: GLOBAL_MANAGEMENT_POLICY_NAME, Description: GLOBAL_MANAGEMENT_POLICY_DESCRIPTION, Rules: GLOBAL_MANAGEMENT_RULES },
  { ID: GLOBAL_READ_ONLY_POLICY_ID, Name: GLOBAL_READ_ONLY_POLICY_NAME, Description: GLOBAL_READ_ONLY_POLICY_DESCRIPTION, Rules: GLOBAL_READ_ONLY_RULES },
];

/** Rules a service identity grants (service, its sidecar, and discovery of everything). */
export function serviceIdentityRules(service: string): string {
  return `
service "${service}" {
	policy = "write"
}
service "${service}-sidecar-proxy" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}
node_prefix "" {
	policy = "read"
}`;
}

/** Rules a node identity grants (its node, and discovery of services). */
export function nodeIdentityRules(node: string): string {
  return `
node "${node}" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}`;
}

export const DNS_TEMPLATE_RULES = `
node_prefix "" {
	policy = "read"
}
service_prefix "" {
	policy = "read"
}
query_prefix "" {
	policy = "read"
}`;

export interface TemplatedPolicyDefinition {
  TemplateName: string;
  TemplateID: string;
  Description: string;
  /** Whether TemplateVariables.name is required. */
  needsName: boolean;
  rules(name: string): string;
}

/** The templated policies this agent knows (Consul CE also ships nomad and api-gateway ones). */
export const TEMPLATED_POLICIES: ReadonlyMap<string, TemplatedPolicyDefinition> = new Map([
  [
    "builtin/service",
    {
      TemplateName: "builtin/service",
      TemplateID: "00000000-0000-0000-0000-000000000003",
      Description:
        "Gives the token or role permissions to register a service and discover services in the Consul catalog. It also gives the specified service's sidecar proxy the permission to discover and route traffic to other services.",
      needsName: true,
      rules: serviceIdentityRules,
    },
  ],
  [
    "builtin/node",
    {
      TemplateName: "builtin/node",
      TemplateID: "00000000-0000-0000-0000-000000000004",
      Description:
        "Gives the token or role permissions for a register an agent/node into the catalog. A node is typically a consul agent but can also be a physical server, cloud instance or a container.",
      needsName: true,
      rules: nodeIdentityRules,
    },
  ],
  [
    "builtin/dns",
    {
      TemplateName: "builtin/dns",
      TemplateID: "00000000-0000-0000-0000-000000000005",
      Description: "Gives the token or role permissions for the Consul DNS to query services in the network.",
      needsName: false,
      rules: () => DNS_TEMPLATE_RULES,
    },
  ],
]);

const IDENTITY_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;

/** Service and node identity names: 1-256 lowercase alphanumerics, '-' and '_', alphanumeric ends. */
export function isValidIdentityName(name: string): boolean {
  return name.length >= 1 && name.length <= 256 && IDENTITY_NAME.test(name);
}

/** FNV-1a 128 of no input: Go's `hasher.Sum(rules)` appends it to the rules bytes. */
const FNV128A_EMPTY = "6c62272e07bb014262b821756295c58d";

/**
 * The ID Consul gives a synthetic policy: `fmt.Sprintf("%x", fnv.New128a().Sum([]byte(rules)))`,
 * which is the rules' bytes in hex followed by the hash of nothing (Sum appends to its argument).
 */
export function syntheticPolicyId(rules: string): string {
  return Buffer.from(rules, "utf8").toString("hex") + FNV128A_EMPTY;
}
