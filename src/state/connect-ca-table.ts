import type { CAConfiguration, CAConfigurationFields, CARoot, CARootFields } from "../model/connect-ca.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";

// The Connect CA's Raft state: the CA configuration (one row or none: none means no leader has
// initialised the CA yet), the roots (exactly one active once initialised) and the serial
// counter every issued certificate takes its number from.

export interface ConnectCaDump {
  config: CAConfiguration | null;
  roots: CARoot[];
  serial: number;
  rootsIndex: number;
  configIndex: number;
}

export class ConnectCaTable {
  readonly #hub: WatchHub;
  #config: CAConfiguration | undefined;
  #roots: CARoot[] = [];
  #serial = 0;
  rootsIndex = 0;
  configIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  config(ws?: WatchSet): CAConfiguration | undefined {
    ws?.add(Topics.connectCaConfig);
    return this.#config;
  }

  roots(ws?: WatchSet): readonly CARoot[] {
    ws?.add(Topics.connectCaRoots);
    return this.#roots;
  }

  activeRoot(ws?: WatchSet): CARoot | undefined {
    return this.roots(ws).find((r) => r.Active);
  }

  get serial(): number {
    return this.#serial;
  }

  setConfig(index: number, fields: CAConfigurationFields): void {
    this.#config = { ...fields, CreateIndex: this.#config?.CreateIndex ?? index, ModifyIndex: index };
    this.configIndex = index;
    this.#hub.notify(Topics.connectCaConfig);
  }

  /** Replaces the root set; a root whose ID was already stored keeps its CreateIndex. */
  setRoots(index: number, roots: CARootFields[]): void {
    const before = new Map(this.#roots.map((r) => [r.ID, r]));
    this.#roots = roots.map((r) => ({ ...r, CreateIndex: before.get(r.ID)?.CreateIndex ?? index, ModifyIndex: index }));
    this.rootsIndex = index;
    this.#hub.notify(Topics.connectCaRoots);
  }

  /** Takes the next `count` serial numbers; returns the first (the counter is the last one taken). */
  reserveSerials(count: number): number {
    const first = this.#serial + 1;
    this.#serial += count;
    return first;
  }

  dump(): ConnectCaDump {
    return {
      config: this.#config ? { ...this.#config } : null,
      roots: this.#roots.map((r) => ({ ...r })),
      serial: this.#serial,
      rootsIndex: this.rootsIndex,
      configIndex: this.configIndex,
    };
  }

  /** Replaces the contents with a snapshot's (the caller wakes watchers). */
  load(d: ConnectCaDump): void {
    this.#config = d.config ? { ...d.config } : undefined;
    this.#roots = d.roots.map((r) => ({ ...r }));
    this.#serial = d.serial;
    this.rootsIndex = d.rootsIndex;
    this.configIndex = d.configIndex;
  }

  clear(): void {
    this.#config = undefined;
    this.#roots = [];
    this.#serial = 0;
    this.rootsIndex = 0;
    this.configIndex = 0;
  }
}
