import { isPlainObject, type RawConfig } from "./decode.ts";
import type { LegacyTranslation } from "./tls.ts";

// Consul's pre-1.4 ACL keys (acl_master_token, acl_default_policy…) and the renamed
// acl.tokens.master / agent_master, moved into the `acl` stanza one source at a time, as
// Consul's applyDeprecatedConfig does: within a source the new name wins; across sources the
// usual merge order decides. Done per source (not on the merged result) because the defaults
// already set acl.default_policy and acl.token_ttl, and a legacy key must still beat a default.

/** [deprecated top-level key, path under `acl`] */
const TOP_LEVEL: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["acl_agent_master_token", ["tokens", "agent_recovery"]],
  ["acl_agent_token", ["tokens", "agent"]],
  ["acl_token", ["tokens", "default"]],
  ["acl_master_token", ["tokens", "initial_management"]],
  ["acl_replication_token", ["tokens", "replication"]],
  ["enable_acl_replication", ["enable_token_replication"]],
  ["acl_default_policy", ["default_policy"]],
  ["acl_down_policy", ["down_policy"]],
  ["acl_ttl", ["token_ttl"]],
  ["acl_enable_key_list_policy", ["enable_key_list_policy"]],
];

/** [old name under acl.tokens, new name] */
const RENAMED_TOKENS: ReadonlyArray<readonly [string, string]> = [
  ["agent_master", "agent_recovery"],
  ["master", "initial_management"],
];

const warning = (old: string, replacement: string): string => `The '${old}' field is deprecated. Use the '${replacement}' field instead.`;

/** Moves one source's deprecated ACL keys to their acl.* names and returns Consul's warnings. Mutates `config`. */
export function translateLegacyAclKeys(config: RawConfig): LegacyTranslation {
  const warnings: string[] = [];
  const renamed = new Map<string, string>();
  const acl: Record<string, unknown> = isPlainObject(config.acl) ? { ...config.acl } : {};
  const tokens: Record<string, unknown> = isPlainObject(acl.tokens) ? { ...acl.tokens } : {};
  let touched = false;
  const setIfAbsent = (path: readonly string[], value: unknown, writtenAs: string): void => {
    const target = path.length === 2 ? tokens : acl;
    const key = path[path.length - 1];
    if (target[key] !== undefined) return;
    target[key] = value;
    renamed.set(`acl.${path.join(".")}`, writtenAs);
  };

  for (const [old, replacement] of RENAMED_TOKENS) {
    if (tokens[old] === undefined) continue;
    touched = true;
    const value = tokens[old];
    delete tokens[old];
    setIfAbsent(["tokens", replacement], value, `acl.tokens.${old}`);
    warnings.push(warning(`acl.tokens.${old}`, `acl.tokens.${replacement}`));
  }
  for (const [old, path] of TOP_LEVEL) {
    const value = config[old];
    if (value === undefined) continue;
    touched = true;
    delete config[old];
    setIfAbsent(path, value, old);
    // Consul: a replication token implies token replication.
    if (old === "acl_replication_token") acl.enable_token_replication = true;
    warnings.push(warning(old, `acl.${path.join(".")}`));
  }
  if (config.acl_datacenter !== undefined) {
    touched = true;
    if (config.primary_datacenter === undefined) {
      config.primary_datacenter = config.acl_datacenter;
      renamed.set("primary_datacenter", "acl_datacenter");
    }
    delete config.acl_datacenter;
    // Consul: "when the acl_datacenter config is used it implicitly enables acls".
    acl.enabled = true;
    renamed.set("acl.enabled", "acl_datacenter");
    warnings.push(warning("acl_datacenter", "primary_datacenter"));
  }
  if (touched) {
    if (Object.keys(tokens).length > 0) acl.tokens = tokens;
    else delete acl.tokens;
    config.acl = acl;
  }
  return { warnings, renamed };
}
