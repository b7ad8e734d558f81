import type { Authorizer, Operation } from "../../acl/authorizer.ts";
import { PermissionDeniedError } from "../../errors/permission-denied.ts";
import type { TxnOp } from "../../fsm/command.ts";
import type { TxnError, TxnResult } from "../../fsm/txn.ts";

// ACLs in /v1/txn (Consul's txn_endpoint.go preCheck and result filtering): every operation is
// checked before anything runs, and any refusal aborts the whole transaction with a 409 whose
// Errors name each refused operation. Reads are not refused but filtered from the results.

function kvOperation(verb: string): Operation | undefined {
  switch (verb) {
    case "get":
    case "get-or-empty":
    case "get-tree":
      return undefined; // filtered on the way out
    case "check-index":
    case "check-session":
    case "check-not-exists":
      return "key:read"; // their outcome reveals the key
    case "delete-tree":
      return "key:write-prefix";
    default:
      return "key:write";
  }
}

function refusal(authz: Authorizer, op: Operation, name: string): string | undefined {
  try {
    authz.require(op, name);
    return undefined;
  } catch (err) {
    if (err instanceof PermissionDeniedError) return err.message;
    throw err;
  }
}

/** The operations this token may not run, as the transaction's Errors (empty: all allowed). */
export function txnAclErrors(authz: Authorizer, ops: readonly TxnOp[]): TxnError[] {
  const out: TxnError[] = [];
  ops.forEach((op, i) => {
    let what: string | undefined;
    switch (op.Kind) {
      case "kv": {
        const needed = kvOperation(op.Verb);
        if (needed) what = refusal(authz, needed, op.Key);
        break;
      }
      case "node":
        what = refusal(authz, "node:write", op.Node.Node);
        break;
      case "service":
        what = refusal(authz, "service:write", op.Service.Service);
        break;
      case "check":
        what = op.Check.ServiceID ? refusal(authz, "service:write", op.Check.ServiceName) : refusal(authz, "node:write", op.Check.Node);
        break;
      case "session":
        break; // server-internal (never decoded from HTTP)
    }
    if (what !== undefined) out.push({ OpIndex: i, What: what });
  });
  return out;
}

/** Results the token may read (KV by key, nodes, services, checks by their service or node). */
export function filterTxnResults(authz: Authorizer, results: TxnResult[] | null): TxnResult[] | null {
  if (!results) return results;
  const kept = results.filter((r) => {
    if ("KV" in r) return authz.allowed("key:read", r.KV.Key);
    if ("Node" in r) return authz.allowed("node:read", r.Node.Node);
    if ("Service" in r) return authz.allowed("service:read", r.Service.Service);
    return r.Check.ServiceName ? authz.allowed("service:read", r.Check.ServiceName) : authz.allowed("node:read", r.Check.Node);
  });
  return kept.length > 0 ? kept : null;
}
