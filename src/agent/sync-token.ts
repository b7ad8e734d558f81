import type { RegistrationSource } from "./local-state.ts";

// Which ACL token anti-entropy presents when it writes one local registration to the catalog
// (Consul's local.State aclTokenForServiceSync / aclTokenForCheckSync):
//   1. the token the registration itself carried (its `token` field, or the request's token);
//   2. for a service or check defined in a config file, acl.tokens.config_file_service_registration;
//   3. the agent's default token (acl.tokens.default), else "" (anonymous).
// Resolved at sync time, not stored, so PUT /v1/agent/token/... takes effect on the next sync.

/** The agent tokens a sync may fall back to (acl/agent-tokens.ts AgentTokens satisfies it). */
export interface SyncTokenSource {
  get(kind: "default" | "config_file_service_registration"): string;
}

/** What a registration contributes: the token it came with and where it came from. */
export interface SyncTokenEntry {
  token: string;
  source: RegistrationSource;
}

export function registrationSyncToken(entry: SyncTokenEntry, tokens: SyncTokenSource | undefined): string {
  if (entry.token !== "") return entry.token;
  if (tokens === undefined) return "";
  if (entry.source === "config") {
    const configFile = tokens.get("config_file_service_registration");
    if (configFile !== "") return configFile;
  }
  return tokens.get("default");
}
