import { ANONYMOUS_TOKEN_ACCESSOR_ID, GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_READ_ONLY_POLICY_ID } from "../acl/builtin.ts";
import type { StateStore } from "../state/store.ts";
import type { AclCommand, ApplyResult } from "./command.ts";

// ACL writes inside apply. The leader validated each request against the state it saw; apply
// re-checks the invariants the tables depend on (unique secrets and names, built-ins kept,
// bootstrap once), because another write may have committed in between.

/** The texts the bootstrap endpoint matches on (agent/structs/acl.go). */
export const ACL_BOOTSTRAP_NOT_ALLOWED = "ACL bootstrap no longer allowed";
export const ACL_BOOTSTRAP_INVALID_RESET_INDEX = "Invalid ACL bootstrap reset index";

const BUILTIN_POLICY_IDS = new Set([GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_READ_ONLY_POLICY_ID]);

export function applyAcl(state: StateStore, index: number, cmd: AclCommand): ApplyResult {
  const acl = state.acl;
  switch (cmd.Type) {
    case "acl-bootstrap": {
      const boot = acl.bootstrap();
      if (!boot.allowBootstrap) {
        if (cmd.ResetIndex === 0) return { ok: false, error: ACL_BOOTSTRAP_NOT_ALLOWED };
        if (cmd.ResetIndex !== boot.resetIndex) return { ok: false, error: ACL_BOOTSTRAP_INVALID_RESET_INDEX };
      }
      const conflict = tokenConflict(state, cmd.Token.AccessorID, cmd.Token.SecretID);
      if (conflict) return { ok: false, error: conflict };
      const row = acl.tokens.put(index, cmd.Token);
      acl.markBootstrapped(index);
      return { ok: true, value: row };
    }
    case "acl-token-set": {
      const conflict = tokenConflict(state, cmd.Token.AccessorID, cmd.Token.SecretID);
      if (conflict) return { ok: false, error: conflict };
      return { ok: true, value: acl.tokens.put(index, cmd.Token) };
    }
    case "acl-token-delete": {
      if (cmd.AccessorIDs.includes(ANONYMOUS_TOKEN_ACCESSOR_ID)) {
        return { ok: false, error: "Deletion of the builtin anonymous token is not permitted" };
      }
      for (const id of cmd.AccessorIDs) acl.tokens.delete(index, id);
      return { ok: true, value: true };
    }
    case "acl-policy-set": {
      const other = acl.policies.getByName(cmd.Policy.Name);
      if (other && other.ID !== cmd.Policy.ID) return { ok: false, error: `A Policy with name "${cmd.Policy.Name}" already exists` };
      return { ok: true, value: acl.policies.put(index, cmd.Policy) };
    }
    case "acl-policy-delete": {
      for (const id of cmd.IDs) if (BUILTIN_POLICY_IDS.has(id)) return { ok: false, error: "Deletion of the builtin policies is not permitted" };
      for (const id of cmd.IDs) acl.policies.delete(index, id);
      return { ok: true, value: true };
    }
    case "acl-role-set": {
      const other = acl.roles.getByName(cmd.Role.Name);
      if (other && other.ID !== cmd.Role.ID) return { ok: false, error: `A Role with name "${cmd.Role.Name}" already exists` };
      return { ok: true, value: acl.roles.put(index, cmd.Role) };
    }
    case "acl-role-delete": {
      for (const id of cmd.IDs) acl.roles.delete(index, id);
      return { ok: true, value: true };
    }
  }
}

/** Another token already holding this SecretID (by a different AccessorID) is a conflict. */
function tokenConflict(state: StateStore, accessorId: string, secretId: string): string | undefined {
  const holder = state.acl.tokens.getBySecret(secretId);
  if (holder && holder.AccessorID !== accessorId) return "Invalid Token: SecretID is already in use";
  const existing = state.acl.tokens.get(accessorId);
  if (existing && existing.SecretID !== secretId) return "Invalid Token: SecretID cannot be changed";
  return undefined;
}
