import type { StateStore } from "../state/store.ts";
import { applyAcl } from "./acl.ts";
import { applyAutopilotSetConfig } from "./autopilot.ts";
import { applyCatalogDeregister, applyCatalogRegister } from "./catalog.ts";
import type { ApplyResult, Command } from "./command.ts";
import { applyConnectCaSerial, applyConnectCaSet } from "./connect-ca.ts";
import { applyConfigEntryDelete, applyConfigEntrySet } from "./config-entry.ts";
import { applyKvDelete, applyKvSet } from "./kv.ts";
import { applySnapshotRestore } from "./snapshot-restore.ts";
import { applySessionCreate, applySessionDestroy } from "./session.ts";
import { applyTxn } from "./txn.ts";

/**
 * The state machine. `apply` is deterministic: the same index and command produce the same
 * state on every server. It is the only code that calls the state tables' mutation methods.
 */
export class StateMachine {
  readonly state: StateStore;

  constructor(state: StateStore) {
    this.state = state;
  }

  apply(index: number, cmd: Command): ApplyResult {
    if (index <= this.state.lastIndex) throw new Error(`fsm: index ${index} applied after ${this.state.lastIndex}`);
    this.state.lastIndex = index;
    switch (cmd.Type) {
      case "kv-set":
        return applyKvSet(this.state, index, cmd);
      case "kv-delete":
        return applyKvDelete(this.state, index, cmd);
      case "catalog-register":
        return applyCatalogRegister(this.state, index, cmd);
      case "catalog-deregister":
        return applyCatalogDeregister(this.state, index, cmd);
      case "session-create":
        return applySessionCreate(this.state, index, cmd);
      case "session-destroy":
        return applySessionDestroy(this.state, index, cmd);
      case "coordinate-update":
        for (const c of cmd.Coordinates) this.state.coordinates.put(index, c);
        return { ok: true, value: true };
      case "txn":
        return applyTxn(this.state, index, cmd);
      case "snapshot-restore":
        return applySnapshotRestore(this.state, index, cmd);
      case "autopilot-set-config":
        return applyAutopilotSetConfig(this.state, index, cmd);
      case "acl-bootstrap":
      case "acl-token-set":
      case "acl-token-delete":
      case "acl-policy-set":
      case "acl-policy-delete":
      case "acl-role-set":
      case "acl-role-delete":
        return applyAcl(this.state, index, cmd);
      case "connect-ca-set":
        return applyConnectCaSet(this.state, index, cmd);
      case "connect-ca-serial":
        return applyConnectCaSerial(this.state);
      case "config-entry-set":
        return applyConfigEntrySet(this.state, index, cmd);
      case "config-entry-delete":
        return applyConfigEntryDelete(this.state, index, cmd);
    }
  }
}
