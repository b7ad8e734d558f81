import type { PreparedQuery } from "../model/prepared-query.ts";
import type { AclPolicyFields, AclRoleFields, AclTokenFields } from "../model/acl.ts";
import type { AutopilotConfigFields } from "../model/autopilot.ts";
import type { CAConfigurationFields, CARootFields } from "../model/connect-ca.ts";
import type { ConfigEntryFields } from "../model/config-entry.ts";
import type { HealthCheck, Node, NodeService, NodeCoordinate } from "../model/catalog.ts";
import type { Session } from "../model/session.ts";

// The versioned Command union: the only way state changes. Every field is plain data
// (msgpack-encodable: Buffer and bigint included) so the same command replays identically on
// every server. Anything time-dependent travels inside the command (NowMs), never read in apply.

export const COMMAND_VERSION = 1;

export type KvSetOp = "set" | "cas" | "lock" | "unlock";

export interface KvSetCommand {
  Type: "kv-set";
  Op: KvSetOp;
  Key: string;
  Value: Buffer;
  Flags: bigint;
  /** For cas: the required ModifyIndex (0 = create only). */
  CasIndex?: number;
  /** For lock/unlock. */
  Session?: string;
  NowMs: number;
}

export type KvDeleteOp = "delete" | "delete-cas" | "delete-tree";

export interface KvDeleteCommand {
  Type: "kv-delete";
  Op: KvDeleteOp;
  Key: string;
  CasIndex?: number;
}

export type NodeFields = Omit<Node, "CreateIndex" | "ModifyIndex">;
export type ServiceFields = Omit<NodeService, "CreateIndex" | "ModifyIndex">;
export type CheckFields = Omit<HealthCheck, "CreateIndex" | "ModifyIndex">;

export interface CatalogRegisterCommand {
  Type: "catalog-register";
  Node: NodeFields;
  SkipNodeUpdate: boolean;
  Service?: ServiceFields;
  Checks: CheckFields[];
  /** Wall clock of the proposer: a check turning critical invalidates sessions, starting lock-delays. */
  NowMs?: number;
}

export interface CatalogDeregisterCommand {
  Type: "catalog-deregister";
  Node: string;
  ServiceID?: string;
  CheckID?: string;
  /** Wall clock of the proposer: deregistering invalidates sessions, starting lock-delays. */
  NowMs?: number;
}

export interface SessionCreateCommand {
  Type: "session-create";
  Session: Omit<Session, "CreateIndex" | "ModifyIndex">;
}

export interface SessionDestroyCommand {
  Type: "session-destroy";
  ID: string;
  NowMs: number;
}

export interface CoordinateUpdateCommand {
  Type: "coordinate-update";
  Coordinates: NodeCoordinate[];
}

/** Create or update (Consul's PreparedQueryRequest ops create/update); the ID is chosen before proposing. */
export interface PreparedQuerySetCommand {
  Type: "prepared-query-set";
  Query: Omit<PreparedQuery, "CreateIndex" | "ModifyIndex">;
}

export interface PreparedQueryDeleteCommand {
  Type: "prepared-query-delete";
  ID: string;
}

export type TxnKvVerb =
  | "set"
  | "cas"
  | "lock"
  | "unlock"
  | "get"
  | "get-or-empty"
  | "get-tree"
  | "check-index"
  | "check-session"
  | "check-not-exists"
  | "delete"
  | "delete-tree"
  | "delete-cas";

export type TxnCatalogVerb = "set" | "cas" | "get" | "delete" | "delete-cas";

export interface TxnKvOp {
  Kind: "kv";
  /** A TxnKvVerb; unknown verbs travel as sent so apply reports them in Errors, as Consul does. */
  Verb: string;
  Key: string;
  Value: Buffer;
  Flags: bigint;
  Index: number;
  Session: string;
}

export interface TxnNodeOp {
  Kind: "node";
  /** A TxnCatalogVerb, or anything else (reported in Errors). */
  Verb: string;
  Node: NodeFields;
  /** For cas / delete-cas. */
  ModifyIndex: number;
}

export interface TxnServiceOp {
  Kind: "service";
  /** A TxnCatalogVerb, or anything else (reported in Errors). */
  Verb: string;
  Node: string;
  Service: ServiceFields;
  ModifyIndex: number;
}

export interface TxnCheckOp {
  Kind: "check";
  /** A TxnCatalogVerb, or anything else (reported in Errors). */
  Verb: string;
  Check: CheckFields;
  ModifyIndex: number;
}

/** Server-internal (not reachable over HTTP, as upstream): invalidates a session. */
export interface TxnSessionOp {
  Kind: "session";
  /** Only "delete". */
  Verb: string;
  ID: string;
}

export type TxnOp = TxnKvOp | TxnNodeOp | TxnServiceOp | TxnCheckOp | TxnSessionOp;

/** A transaction: all operations apply, or none do (spec/txn.md). Applies as one index. */
export interface TxnCommand {
  Type: "txn";
  Ops: TxnOp[];
  NowMs: number;
}

/**
 * Operator snapshot restore (PUT /v1/snapshot): replaces the whole state with `Data`, a
 * serialized state (state/snapshot.ts), at this command's index on every server.
 */
export interface SnapshotRestoreCommand {
  Type: "snapshot-restore";
  Data: Buffer;
}

/**
 * "set" replaces the autopilot configuration; "cas" only when the stored ModifyIndex equals
 * CasIndex (none stored never matches, as Consul's AutopilotCASConfig); "seed" only when none
 * is stored yet (a new leader writing the agent configuration's values). Applies to `true`
 * when written, `false` when the condition failed.
 */
export type AutopilotSetOp = "set" | "cas" | "seed";

export interface AutopilotSetConfigCommand {
  Type: "autopilot-set-config";
  Op: AutopilotSetOp;
  Config: AutopilotConfigFields;
  CasIndex?: number;
}

/**
 * ACL bootstrap (or the leader's initial management token): stores the token and closes
 * bootstrap at this index. Refused once closed unless ResetIndex equals the stored reset index.
 */
export interface AclBootstrapCommand {
  Type: "acl-bootstrap";
  Token: AclTokenFields;
  /** 0 for a first bootstrap; else the index read from the acl-bootstrap-reset file. */
  ResetIndex: number;
}

/** Creates or replaces one token (by AccessorID). Validation happened on the leader. */
export interface AclTokenSetCommand {
  Type: "acl-token-set";
  Token: AclTokenFields;
}

export interface AclTokenDeleteCommand {
  Type: "acl-token-delete";
  AccessorIDs: string[];
}

export interface AclPolicySetCommand {
  Type: "acl-policy-set";
  Policy: AclPolicyFields;
}

export interface AclPolicyDeleteCommand {
  Type: "acl-policy-delete";
  IDs: string[];
}

export interface AclRoleSetCommand {
  Type: "acl-role-set";
  Role: AclRoleFields;
}

export interface AclRoleDeleteCommand {
  Type: "acl-role-delete";
  IDs: string[];
}

export type AclCommand =
  | AclBootstrapCommand
  | AclTokenSetCommand
  | AclTokenDeleteCommand
  | AclPolicySetCommand
  | AclPolicyDeleteCommand
  | AclRoleSetCommand
  | AclRoleDeleteCommand;

/**
 * Connect CA (fsm/connect-ca.ts). "bootstrap" stores the first configuration and root only when
 * no configuration is stored (a new leader initialising the CA); "cas" replaces the
 * configuration — and the roots when `Roots` is given — only when the roots table index still
 * equals CasIndex (Consul's CAOpSetRootsAndConfig). Applies to `true` when written.
 */
export interface ConnectCaSetCommand {
  Type: "connect-ca-set";
  Op: "bootstrap" | "cas";
  CasIndex?: number;
  Config: CAConfigurationFields;
  Roots?: CARootFields[];
}

/**
 * Reserves the next `Count` certificate serial numbers (1 when absent) and applies to the first:
 * every issued certificate has its own. The leader reserves a block and hands its numbers out
 * itself, so a leaf costs no Raft write of its own (server/connect-ca.ts).
 */
export interface ConnectCaSerialCommand {
  Type: "connect-ca-serial";
  Count?: number;
}

/**
 * Config entries (fsm/config-entry.ts): "upsert" writes; "cas" writes only when the stored
 * entry's ModifyIndex equals CasIndex (0: only when none is stored). Applies to `true` when written.
 */
export interface ConfigEntrySetCommand {
  Type: "config-entry-set";
  Op: "upsert" | "cas";
  CasIndex?: number;
  Entry: ConfigEntryFields;
}

/** "delete" always succeeds; "cas" deletes only when the stored ModifyIndex equals CasIndex. Applies to `true` when deleted (cas) or always (delete). */
export interface ConfigEntryDeleteCommand {
  Type: "config-entry-delete";
  Op: "delete" | "cas";
  Kind: string;
  Name: string;
  CasIndex?: number;
}

export type Command =
  | KvSetCommand
  | KvDeleteCommand
  | CatalogRegisterCommand
  | CatalogDeregisterCommand
  | SessionCreateCommand
  | SessionDestroyCommand
  | CoordinateUpdateCommand
  | TxnCommand
  | SnapshotRestoreCommand
  | AutopilotSetConfigCommand
  | AclCommand
  | ConnectCaSetCommand
  | ConnectCaSerialCommand
  | ConfigEntrySetCommand
  | ConfigEntryDeleteCommand
  | PreparedQuerySetCommand
  | PreparedQueryDeleteCommand;

export type CommandType = Command["Type"];

/**
 * Why apply refused a command, where the HTTP layer answers it other than as a plain internal
 * error: "config-entry-graph" is Consul's ConfigEntryGraphError (the entry would break a
 * discovery chain or an ingress listener's protocol).
 */
export type ApplyErrorCode = "config-entry-graph";

/** What apply returns: a value for the caller, or an error message (500 unless `code` says otherwise). */
export type ApplyResult = { ok: true; value: unknown } | { ok: false; error: string; code?: ApplyErrorCode };
