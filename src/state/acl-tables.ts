import type { AclPolicy, AclRole, AclToken } from "../model/acl.ts";
import { AclNamedTable, type NamedTableDump } from "./acl-named-table.ts";
import { AclTokenTable } from "./acl-token-table.ts";
import type { WatchHub, WatchSet } from "./watch.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// Every ACL table of the replicated state (Consul's acl-tokens, acl-policies, acl-roles and
// the bootstrap row), with one dump for snapshots.

export const ACL_POLICIES_TOPIC = "acl-policies";
export const ACL_ROLES_TOPIC = "acl-roles";
export const ACL_BOOTSTRAP_TOPIC = "acl-bootstrap";

/** Bootstrap state: `resetIndex` is the Raft index of the last bootstrap (0: never). */
export interface AclBootstrapState {
  allowBootstrap: boolean;
  resetIndex: number;
}

export interface AclDump {
  Tokens: { rows: AclToken[]; tableIndex: number };
  Policies: NamedTableDump<AclPolicy>;
  Roles: NamedTableDump<AclRole>;
  Bootstrap: AclBootstrapState;
}

export class AclTables {
  readonly #hub: WatchHub;
  readonly tokens: AclTokenTable;
  readonly policies: AclNamedTable<AclPolicy>;
  readonly roles: AclNamedTable<AclRole>;
  #bootstrap: AclBootstrapState = { allowBootstrap: true, resetIndex: 0 };

  constructor(hub: WatchHub) {
    this.#hub = hub;
    this.tokens = new AclTokenTable(hub);
    this.policies = new AclNamedTable<AclPolicy>(hub, ACL_POLICIES_TOPIC);
    this.roles = new AclNamedTable<AclRole>(hub, ACL_ROLES_TOPIC);
  }

  bootstrap(ws?: WatchSet): AclBootstrapState {
    ws?.add(ACL_BOOTSTRAP_TOPIC);
    return { ...this.#bootstrap };
  }

  /** Records a bootstrap (or the leader's initial management token) at `index`. */
  markBootstrapped(index: number): void {
    this.#bootstrap = { allowBootstrap: false, resetIndex: index };
    this.#hub.notify(ACL_BOOTSTRAP_TOPIC);
  }

  dump(): AclDump {
    return {
      Tokens: this.tokens.dump(),
      Policies: this.policies.dump(),
      Roles: this.roles.dump(),
      Bootstrap: { ...this.#bootstrap },
    };
  }

  load(dump: AclDump): void {
    runWhole(this.loadSlices(dump));
  }

  /** load() in slices, for tables nobody reads yet (a restore's staged store). */
  *loadSlices(dump: AclDump): SlicedWork<void> {
    yield* this.tokens.loadSlices(dump.Tokens);
    yield* this.policies.loadSlices(dump.Policies);
    yield* this.roles.loadSlices(dump.Roles);
    this.#bootstrap = { ...dump.Bootstrap };
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: AclTables): void {
    this.tokens.adopt(staged.tokens);
    this.policies.adopt(staged.policies);
    this.roles.adopt(staged.roles);
    this.#bootstrap = staged.#bootstrap;
  }

  /** Raises every table index to `index` (an operator snapshot restore changed them all). */
  touchAll(index: number): void {
    this.tokens.tableIndex = index;
    this.policies.tableIndex = index;
    this.roles.tableIndex = index;
  }

  clear(): void {
    this.tokens.clear();
    this.policies.clear();
    this.roles.clear();
    this.#bootstrap = { allowBootstrap: true, resetIndex: 0 };
  }
}
