import {
  ANONYMOUS_TOKEN_ACCESSOR_ID, ANONYMOUS_TOKEN_DESCRIPTION, ANONYMOUS_TOKEN_SECRET, BUILTIN_POLICIES, GLOBAL_MANAGEMENT_POLICY_ID,
  INITIAL_MANAGEMENT_TOKEN_DESCRIPTION,
} from "../acl/builtin.ts";
import { contentHash, formatGoTime, newObjectId } from "../acl/object-ids.ts";
import type { Command } from "../fsm/command.ts";
import type { AclTokenFields } from "../model/acl.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { StateStore } from "../state/store.ts";
import type { Consensus } from "./consensus.ts";

// What a new leader of the primary datacenter writes before ACLs can be used (Consul's
// initializeACLs): the built-in policies, the anonymous token and, when configured, the
// initial management token (which consumes bootstrap while bootstrap is still open).
// Each write happens only when missing, so every election after the first writes nothing.

export interface AclLeaderSetupDeps {
  consensus: Consensus;
  state: StateStore;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** acl.tokens.initial_management; "" when not configured. */
  initialManagement: string;
}

function token(fields: Omit<AclTokenFields, "Hash" | "Roles" | "ServiceIdentities" | "NodeIdentities" | "TemplatedPolicies">): AclTokenFields {
  const full = { ...fields, Roles: [], ServiceIdentities: [], NodeIdentities: [], TemplatedPolicies: [] };
  return { ...full, Hash: contentHash([full.Description, full.Local ? "local" : "global", ...full.Policies.map((p) => p.ID)]) };
}

/** The commands the leader still has to write, in order (pure: reads state, proposes nothing). */
export function aclSetupCommands(state: StateStore, nowMs: number, uuid: () => string, initialManagement: string): Command[] {
  const acl = state.acl;
  const out: Command[] = [];
  for (const p of BUILTIN_POLICIES) {
    const existing = acl.policies.get(p.ID);
    // A stored built-in keeps its (possibly renamed) name; its rules follow this version's.
    if (existing && existing.Rules === p.Rules) continue;
    if (!existing && acl.policies.getByName(p.Name)) continue;
    const name = existing?.Name ?? p.Name;
    out.push({
      Type: "acl-policy-set",
      Policy: { ID: p.ID, Name: name, Description: p.Description, Rules: p.Rules, Hash: contentHash([name, p.Description, p.Rules]) },
    });
  }
  if (initialManagement !== "" && !acl.tokens.getBySecret(initialManagement)) {
    const t = token({
      AccessorID: newObjectId(uuid),
      SecretID: initialManagement,
      Description: INITIAL_MANAGEMENT_TOKEN_DESCRIPTION,
      Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: "" }],
      Local: false,
      CreateTime: formatGoTime(nowMs),
    });
    out.push(acl.bootstrap().allowBootstrap ? { Type: "acl-bootstrap", Token: t, ResetIndex: 0 } : { Type: "acl-token-set", Token: t });
  }
  if (!acl.tokens.get(ANONYMOUS_TOKEN_ACCESSOR_ID)) {
    out.push({
      Type: "acl-token-set",
      Token: token({
        AccessorID: ANONYMOUS_TOKEN_ACCESSOR_ID,
        SecretID: ANONYMOUS_TOKEN_SECRET,
        Description: ANONYMOUS_TOKEN_DESCRIPTION,
        Policies: [],
        Local: false,
        CreateTime: formatGoTime(nowMs),
      }),
    });
  }
  return out;
}

/** Writes what is missing; call when this server becomes leader. Failures are logged. */
export async function establishAclObjects(deps: AclLeaderSetupDeps): Promise<void> {
  const { consensus, state, clock, rng, logger } = deps;
  for (const cmd of aclSetupCommands(state, clock.now(), () => rng.uuid(), deps.initialManagement)) {
    if (!consensus.isLeader()) return;
    try {
      const { result } = await consensus.propose(cmd);
      if (!result.ok) logger.warn("acl: failed to initialize", { command: cmd.Type, error: result.error });
    } catch (e) {
      logger.warn("acl: failed to initialize", { command: cmd.Type, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
