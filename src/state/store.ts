import { AclTables } from "./acl-tables.ts";
import { AutopilotTable } from "./autopilot-table.ts";
import { CatalogTables } from "./catalog-tables.ts";
import { ConnectCaTable } from "./connect-ca-table.ts";
import { ConfigEntriesTable } from "./config-entries-table.ts";
import { CoordinateTable } from "./coordinate-table.ts";
import { KvTable } from "./kv-table.ts";
import { PreparedQueryTable } from "./prepared-query-table.ts";
import { SessionTable } from "./session-table.ts";
import { WatchHub } from "./watch.ts";

/**
 * The replicated state: every table plus the watch hub that wakes blocking queries.
 * Readers use the tables' query methods; only fsm/apply calls their mutation methods.
 */
export class StateStore {
  readonly hub = new WatchHub();
  readonly kv = new KvTable(this.hub);
  readonly catalog = new CatalogTables(this.hub);
  readonly sessions = new SessionTable(this.hub);
  readonly coordinates = new CoordinateTable(this.hub);
  readonly autopilot = new AutopilotTable(this.hub);
  readonly acl = new AclTables(this.hub);
  readonly connectCa = new ConnectCaTable(this.hub);
  readonly configEntries = new ConfigEntriesTable(this.hub);
  readonly preparedQueries = new PreparedQueryTable(this.hub);
  /** Index of the last applied command. */
  lastIndex = 0;

  /** Drops everything (snapshot restore) and wakes every waiter. */
  reset(): void {
    this.kv.clear();
    this.catalog.clear();
    this.sessions.clear();
    this.coordinates.clear();
    this.autopilot.clear();
    this.acl.clear();
    this.connectCa.clear();
    this.configEntries.clear();
    this.preparedQueries.clear();
    this.lastIndex = 0;
    this.hub.notifyAll();
  }
}
