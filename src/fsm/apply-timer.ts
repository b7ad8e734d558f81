import type { Command } from "./command.ts";

// Consul times each state machine command under its own name (agent/consul/fsm/commands_ce.go:
// consul.fsm.register, consul.fsm.kvs{op}, consul.fsm.session{op}…), so a dashboard can tell
// which kind of write makes apply slow. This names our commands the way Consul names theirs.

export interface ApplySeries {
  name: string;
  labels?: Readonly<Record<string, string>>;
}

/** Receives each apply's duration; the state machine calls it only when one is set. */
export interface ApplyTimer {
  now(): number;
  applied(series: ApplySeries, elapsedMs: number): void;
}

const ACL_OBJECT: Readonly<Record<string, [string, string]>> = {
  "acl-bootstrap": ["token", "bootstrap"],
  "acl-token-set": ["token", "upsert"],
  "acl-token-delete": ["token", "delete"],
  "acl-policy-set": ["policy", "upsert"],
  "acl-policy-delete": ["policy", "delete"],
  "acl-role-set": ["role", "upsert"],
  "acl-role-delete": ["role", "delete"],
};

/** Consul's series for this command, or undefined where Consul times none (snapshot restore). */
export function applySeries(cmd: Command): ApplySeries | undefined {
  switch (cmd.Type) {
    case "kv-set":
    case "kv-delete":
      return { name: "consul.fsm.kvs", labels: { op: cmd.Op } };
    case "catalog-register":
      return { name: "consul.fsm.register" };
    case "catalog-deregister":
      return { name: "consul.fsm.deregister" };
    case "session-create":
      return { name: "consul.fsm.session", labels: { op: "create" } };
    case "session-destroy":
      return { name: "consul.fsm.session", labels: { op: "destroy" } };
    case "coordinate-update":
      return { name: "consul.fsm.coordinate.batch-update" };
    case "txn":
      return { name: "consul.fsm.txn" };
    case "autopilot-set-config":
      return { name: "consul.fsm.autopilot" };
    case "connect-ca-set":
      // Roots and configuration are written together, as Consul's CAOpSetRootsAndConfig.
      return { name: "consul.fsm.ca", labels: { op: "set-roots-config" } };
    case "connect-ca-serial":
      return { name: "consul.fsm.ca.leaf", labels: { op: "increment-index" } };
    case "config-entry-set":
      return { name: `consul.fsm.config_entry.${cmd.Entry.Kind}`, labels: { op: cmd.Op } };
    case "config-entry-delete":
      return { name: `consul.fsm.config_entry.${cmd.Kind}`, labels: { op: cmd.Op === "cas" ? "delete-cas" : "delete" } };
    case "snapshot-restore":
      return undefined;
    default: {
      const acl = ACL_OBJECT[cmd.Type];
      return acl ? { name: `consul.fsm.acl.${acl[0]}`, labels: { op: acl[1] } } : undefined;
    }
  }
}
