import type { StateStore } from "../state/store.ts";
import { applyAcl } from "./acl.ts";
import { applyAutopilotSetConfig } from "./autopilot.ts";
import { applyCatalogDeregister, applyCatalogRegister, prepareCatalogRegister } from "./catalog.ts";
import type { PreparedCatalogRegister } from "./catalog.ts";
import { applySeries, type ApplyTimer } from "./apply-timer.ts";
import type { SlicedWork } from "../runtime/sliced-work.ts";
import { prepareRestore, type PreparedRestore } from "../state/snapshot.ts";
import type { ApplyResult, Command } from "./command.ts";
import { applyConnectCaSerial, applyConnectCaSet } from "./connect-ca.ts";
import { applyConfigEntryDelete, applyConfigEntrySet } from "./config-entry.ts";
import { applyCoordinateUpdate } from "./coordinate.ts";
import { applyKvDelete, applyKvSet } from "./kv.ts";
import { applyPreparedQueryDelete, applyPreparedQuerySet } from "./prepared-query.ts";
import { applySnapshotRestore } from "./snapshot-restore.ts";
import { applySessionCreate, applySessionDestroy } from "./session.ts";
import { applyTxn } from "./txn.ts";
import { RestoreReadAhead } from "./restore-read-ahead.ts";

/**
 * Work for one command done ahead of its apply (StateMachine.prepare): valid only for the state
 * it was read from, which apply checks.
 */
export interface PreparedApply {
  stateIndex: number;
  catalogRegister?: PreparedCatalogRegister;
  /** snapshot-restore: the operator's snapshot, read ahead. */
  snapshot?: PreparedRestore;
}

/**
 * The state machine. `apply` is deterministic: the same index and command produce the same
 * state on every server. It is the only code that calls the state tables' mutation methods.
 */
export class StateMachine {
  readonly state: StateStore;
  /** Operator restores the handler already read, offered to this server's preparation. */
  readonly restoreReadAhead = new RestoreReadAhead();

  #timer: ApplyTimer | undefined;

  constructor(state: StateStore) {
    this.state = state;
  }

  /** Times every apply from now on under Consul's per-command series (consul.fsm.*). */
  timeWith(timer: ApplyTimer): void {
    this.#timer = timer;
  }

  /**
   * The costly, state-preserving part of applying `cmd` at `index`, as work that may pause: the
   * caller runs it in slices and hands the result to apply, applying nothing else in between.
   * Undefined when the command has nothing worth doing ahead (the usual case).
   */
  *prepare(index: number, cmd: Command): SlicedWork<PreparedApply | undefined> {
    const stateIndex = this.state.lastIndex;
    if (cmd.Type === "catalog-register") {
      const catalogRegister = yield* prepareCatalogRegister(this.state, index, cmd);
      return catalogRegister === undefined ? undefined : { stateIndex, catalogRegister };
    }
    if (cmd.Type === "snapshot-restore") {
      // Unreadable: apply reads it again and answers the error.
      let snapshot: PreparedRestore;
      try {
        snapshot = (yield* this.restoreReadAhead.take(cmd.Data)) ?? (yield* prepareRestore(cmd.Data));
      } catch {
        return undefined;
      }
      return { stateIndex, snapshot };
    }
    return undefined;
  }

  apply(index: number, cmd: Command, prepared?: PreparedApply): ApplyResult {
    if (index <= this.state.lastIndex) throw new Error(`fsm: index ${index} applied after ${this.state.lastIndex}`);
    // Work done ahead against another state (something applied in between) is not used.
    const ahead = prepared !== undefined && prepared.stateIndex === this.state.lastIndex ? prepared : undefined;
    this.state.lastIndex = index;
    const timer = this.#timer;
    if (!timer) return this.#apply(index, cmd, ahead);
    const started = timer.now();
    const result = this.#apply(index, cmd, ahead);
    const series = applySeries(cmd);
    if (series) timer.applied(series, timer.now() - started);
    return result;
  }

  #apply(index: number, cmd: Command, ahead: PreparedApply | undefined): ApplyResult {
    switch (cmd.Type) {
      case "kv-set":
        return applyKvSet(this.state, index, cmd);
      case "kv-delete":
        return applyKvDelete(this.state, index, cmd);
      case "catalog-register":
        return applyCatalogRegister(this.state, index, cmd, ahead?.catalogRegister);
      case "catalog-deregister":
        return applyCatalogDeregister(this.state, index, cmd);
      case "session-create":
        return applySessionCreate(this.state, index, cmd);
      case "session-destroy":
        return applySessionDestroy(this.state, index, cmd);
      case "coordinate-update":
        return applyCoordinateUpdate(this.state, index, cmd);
      case "prepared-query-set":
        return applyPreparedQuerySet(this.state, index, cmd);
      case "prepared-query-delete":
        return applyPreparedQueryDelete(this.state, index, cmd);
      case "txn":
        return applyTxn(this.state, index, cmd);
      case "snapshot-restore":
        return applySnapshotRestore(this.state, index, cmd, ahead?.snapshot);
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
        return applyConnectCaSerial(this.state, cmd);
      case "config-entry-set":
        return applyConfigEntrySet(this.state, index, cmd);
      case "config-entry-delete":
        return applyConfigEntryDelete(this.state, index, cmd);
    }
  }
}
