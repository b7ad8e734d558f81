import type { StateStore } from "../state/store.ts";
import { applyAcl } from "./acl.ts";
import { applyAutopilotSetConfig } from "./autopilot.ts";
import { applyCatalogDeregister, applyCatalogRegister } from "./catalog.ts";
import { applySeries, type ApplyTimer } from "./apply-timer.ts";
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

  #timer: ApplyTimer | undefined;

  constructor(state: StateStore) {
    this.state = state;
  }

  /** Times every apply from now on under Consul's per-command series (consul.fsm.*). */
  timeWith(timer: ApplyTimer): void {
    this.#timer = timer;
  }

  apply(index: number, cmd: Command): ApplyResult {
    if (index <= this.state.lastIndex) throw new Error(`fsm: index ${index} applied after ${this.state.lastIndex}`);
    this.state.lastIndex = index;
    const timer = this.#timer;
    if (!timer) return this.#apply(index, cmd);
    const started = timer.now();
    const result = this.#apply(index, cmd);
    const series = applySeries(cmd);
    if (series) timer.applied(series, timer.now() - started);
    return result;
  }

  #apply(index: number, cmd: Command): ApplyResult {
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
