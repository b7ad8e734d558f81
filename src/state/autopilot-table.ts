import type { AutopilotConfig, AutopilotConfigFields } from "../model/autopilot.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";

// The autopilot configuration: one row or none (Consul's autopilot-config table). None means
// no leader has seeded it yet; the leader writes the agent configuration's values then.

export interface AutopilotDump {
  row: AutopilotConfig | null;
  tableIndex: number;
}

export class AutopilotTable {
  readonly #hub: WatchHub;
  #row: AutopilotConfig | undefined;
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get(ws?: WatchSet): AutopilotConfig | undefined {
    ws?.add(Topics.autopilot);
    return this.#row;
  }

  /** Stores `config`, keeping the CreateIndex of the row it replaces. */
  set(index: number, config: AutopilotConfigFields): void {
    this.#row = { ...config, CreateIndex: this.#row?.CreateIndex ?? index, ModifyIndex: index };
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(Topics.autopilot);
  }

  dump(): AutopilotDump {
    return { row: this.#row ? { ...this.#row } : null, tableIndex: this.tableIndex };
  }

  /** Replaces the contents with a snapshot's (the caller wakes watchers). */
  load(dump: AutopilotDump): void {
    this.#row = dump.row ? { ...dump.row } : undefined;
    this.tableIndex = dump.tableIndex;
  }

  clear(): void {
    this.#row = undefined;
    this.tableIndex = 0;
  }
}
