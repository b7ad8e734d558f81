import type { CheckStatus, HealthCheck, Node, NodeService } from "../model/catalog.ts";
import { ownString, rowWithIndexes } from "./row-copy.ts";
import { sameRow } from "./rows-equal.ts";
import { Topics, type WatchHub, type WatchSet } from "./watch.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

/** The catalog's contents as plain data (Map entries as pairs, keyed by lower-cased node name). */
export interface CatalogDump {
  nodes: Node[];
  services: [string, NodeService[]][];
  checks: [string, HealthCheck[]][];
  nameIndex: [string, number][];
  nodesIndex: number;
  servicesIndex: number;
  checksIndex: number;
}

export interface ServiceInstance {
  node: Node;
  service: NodeService;
}

/** Where one instance of a service name lives (lower-cased node key, service ID). */
interface InstanceRef {
  nodeKey: string;
  serviceId: string;
}

/** One service name's summary: how many instances carry it and each of their tags. */
interface ServiceSummary {
  instances: number;
  /** tag → number of instances carrying it (an instance listing a tag twice counts once) */
  tags: Map<string, number>;
}

/**
 * Nodes with at most this many checks have their instances' check lists built on each read,
 * not kept: scanning a few checks costs about what the two lookups of a kept list do. With 17
 * checks per node the scan made a warm re-read of 10,000 instances (after a write) ~5× slower
 * than the lookups (measured in one process, 2–3 vs 10–13 ms), so bigger nodes keep theirs.
 */
const SCANNED_CHECKS_MAX = 4;
const NO_CHECKS: readonly HealthCheck[] = Object.freeze([]);

/**
 * The checks of a node's table that apply to one of its services, by CheckID. The usual one
 * check is returned in an array of its size (an array grown by push from empty keeps room
 * for 17, ~150 bytes more per instance kept by a cold answer's entries).
 */
function checksOf(checks: ReadonlyMap<string, HealthCheck>, serviceId: string): readonly HealthCheck[] {
  let first: HealthCheck | undefined;
  let more: HealthCheck[] | undefined;
  for (const c of checks.values()) {
    if (c.ServiceID !== "" && c.ServiceID !== serviceId) continue;
    if (first === undefined) first = c;
    else (more ??= [first]).push(c);
  }
  return more ? more.sort(byCheckId) : first ? [first] : NO_CHECKS;
}

const byNodeThenId = (a: ServiceInstance, b: ServiceInstance): number =>
  a.node.Node < b.node.Node ? -1 : a.node.Node > b.node.Node ? 1 : a.service.ID < b.service.ID ? -1 : a.service.ID > b.service.ID ? 1 : 0;

/**
 * Nodes, services and checks. Node and service names are case-insensitive (lower-cased keys),
 * service and check IDs are case-sensitive, as in Consul's schema.
 */
/** What upsertChecks stores for one call: built by prepareCheckRows, possibly over several turns. */
export interface PreparedCheckRows {
  index: number;
  nodeName: string;
  /** Per check, in order: its new row, or undefined where the stored row is the same. */
  rows: readonly (HealthCheck | undefined)[];
  /**
   * The node's whole check table after the write, built aside (withCheckTable) so the apply
   * swaps it in at once rather than storing thousands of rows in its own turn; readers see the
   * old table or the new one, never half of it. Same contents and order as storing row by row.
   */
  table?: { rows: Map<string, HealthCheck>; changed: boolean; touchedServiceIds: readonly string[]; nodeLevel: boolean };
}

export class CatalogTables {
  readonly #hub: WatchHub;
  #nodes = new Map<string, Node>();
  #services = new Map<string, Map<string, NodeService>>();
  #checks = new Map<string, Map<string, HealthCheck>>();
  /**
   * lower(service name) → lower(node) + "\0" + service ID → that instance's reference. The
   * reference is kept split (not only as the key string) so a cold answer's instance order
   * needs no string splitting and no new references (issue 17, S4).
   */
  #byName = new Map<string, Map<string, InstanceRef>>();
  #nameIndex = new Map<string, number>();
  /**
   * lower(node) → service ID → that instance's checks, sorted; dropped when the node's checks
   * change. Only for nodes with many checks (instanceChecks).
   */
  #instanceChecks = new Map<string, Map<string, readonly HealthCheck[]>>();
  /** lower(service name) → its instances in answer order; dropped when membership changes. */
  #orderByName = new Map<string, InstanceRef[]>();
  /**
   * service name (as registered, case kept) → instance and tag counts, maintained by every
   * service write so /v1/catalog/services costs O(services), not O(instances).
   */
  #summaries = new Map<string, ServiceSummary>();
  nodesIndex = 0;
  servicesIndex = 0;
  checksIndex = 0;
  /**
   * Bumped when the tables are wiped (snapshot restore): indexes may then repeat with other
   * contents, so anything memoized by index must also match the generation.
   */
  generation = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  // ---- queries ----

  /** Watches a whole table, for queries whose answer also depends on rows they did not list. */
  watchTable(table: "nodes" | "services" | "checks", ws: WatchSet): void {
    ws.add(table === "nodes" ? Topics.nodes : table === "services" ? Topics.services : Topics.checks);
  }

  getNode(name: string, ws?: WatchSet): Node | undefined {
    ws?.add(Topics.node(name));
    return this.#nodes.get(name.toLowerCase());
  }

  listNodes(ws?: WatchSet): Node[] {
    ws?.add(Topics.nodes);
    return [...this.#nodes.values()].sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
  }

  nodeServices(nodeName: string, ws?: WatchSet): NodeService[] {
    ws?.add(Topics.node(nodeName));
    const m = this.#services.get(nodeName.toLowerCase());
    return m ? [...m.values()].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)) : [];
  }

  getService(nodeName: string, serviceId: string): NodeService | undefined {
    return this.#services.get(nodeName.toLowerCase())?.get(serviceId);
  }

  nodeChecks(nodeName: string, ws?: WatchSet): HealthCheck[] {
    ws?.add(Topics.node(nodeName));
    const m = this.#checks.get(nodeName.toLowerCase());
    return m ? [...m.values()].sort(byCheckId) : [];
  }

  getCheck(nodeName: string, checkId: string): HealthCheck | undefined {
    return this.#checks.get(nodeName.toLowerCase())?.get(checkId);
  }

  /** Every instance of a service name, sorted by node name then service ID. */
  serviceInstances(name: string, ws?: WatchSet): ServiceInstance[] {
    ws?.add(Topics.serviceName(name));
    const nameKey = name.toLowerCase();
    const refs = this.#byName.get(nameKey);
    if (!refs) return [];
    // The order only changes when instances join or leave the name, so it is kept between
    // reads: a 10,000-instance answer after an update is lookups, not a sort of strings.
    const order = this.#orderByName.get(nameKey);
    if (!order) {
      // The sort already looked every row up (a cold 10,000-instance read did that twice).
      // The sorted pairs are the answer as they are (their extra `ref` is harmless), not copied.
      const sorted = this.#sortedInstances(refs);
      const order: InstanceRef[] = new Array<InstanceRef>(sorted.length);
      for (let i = 0; i < sorted.length; i++) order[i] = sorted[i].ref;
      this.#orderByName.set(nameKey, order);
      return sorted;
    }
    const out: ServiceInstance[] = new Array<ServiceInstance>(order.length);
    let n = 0;
    for (const ref of order) {
      const node = this.#nodes.get(ref.nodeKey);
      const service = this.#services.get(ref.nodeKey)?.get(ref.serviceId);
      if (node && service) out[n++] = { node, service };
    }
    out.length = n;
    return out;
  }

  #sortedInstances(refs: Map<string, InstanceRef>): (ServiceInstance & { ref: InstanceRef })[] {
    const found: (ServiceInstance & { ref: InstanceRef })[] = [];
    for (const ref of refs.values()) {
      const node = this.#nodes.get(ref.nodeKey);
      const service = this.#services.get(ref.nodeKey)?.get(ref.serviceId);
      if (node && service) found.push({ node, service, ref });
    }
    return found.sort(byNodeThenId);
  }

  /**
   * Every service name with the union of its instances' tags (tags sorted), names in byte
   * order: /v1/catalog/services without node-meta or filter, read from the summary index.
   */
  serviceTagSummary(ws?: WatchSet): [string, string[]][] {
    ws?.add(Topics.services);
    const out: [string, string[]][] = [];
    for (const [name, summary] of this.#summaries) out.push([name, [...summary.tags.keys()].sort(byteOrder)]);
    return out.sort((a, b) => byteOrder(a[0], b[0]));
  }

  /** All instances of all services (catalog/services, health/state). */
  allInstances(ws?: WatchSet): ServiceInstance[] {
    ws?.add(Topics.services);
    const out: ServiceInstance[] = [];
    for (const [nodeKey, svcs] of this.#services) {
      const node = this.#nodes.get(nodeKey);
      if (!node) continue;
      for (const service of svcs.values()) out.push({ node, service });
    }
    return out.sort(byNodeThenId);
  }

  /**
   * Connect endpoints for a service (catalog.md §9): proxies whose destination is `name` and
   * Connect-native instances named `name`, ordered like serviceInstances.
   */
  connectInstances(name: string, ws?: WatchSet): ServiceInstance[] {
    ws?.add(Topics.services);
    const lower = name.toLowerCase();
    const out: ServiceInstance[] = [];
    for (const [nodeKey, svcs] of this.#services) {
      const node = this.#nodes.get(nodeKey);
      if (!node) continue;
      for (const service of svcs.values()) if (isConnectEndpointFor(service, lower)) out.push({ node, service });
    }
    return out.sort(byNodeThenId);
  }

  /** Checks that apply to one instance: its service checks plus the node's node-level checks. */
  instanceChecks(nodeName: string, serviceId: string): readonly HealthCheck[] {
    const key = nodeName.toLowerCase();
    let byService = this.#instanceChecks.get(key);
    const kept = byService?.get(serviceId);
    if (kept) return kept;
    const checks = this.#checks.get(key);
    if (checks === undefined) return NO_CHECKS;
    // A node with few checks is scanned each time: a kept list per node and service (its
    // map created on a cold read, one per node) made ~10,000 long-lived objects per cold
    // 10,000-instance answer for the collector to copy and mark (issue 17, S4). Callers
    // compare lists by their rows, not by identity.
    if (checks.size <= SCANNED_CHECKS_MAX) return checksOf(checks, serviceId);
    // Otherwise built once per node and service until a check on the node changes: a node
    // hosting many services would otherwise be scanned whole for each of its instances, and
    // the same array each time lets views tell "unchanged" by identity.
    if (!byService) {
      byService = new Map();
      this.#instanceChecks.set(key, byService);
    }
    const list = checksOf(checks, serviceId);
    byService.set(serviceId, list);
    return list;
  }

  checksOfServiceName(name: string, ws?: WatchSet): HealthCheck[] {
    ws?.add(Topics.serviceName(name));
    const lower = name.toLowerCase();
    const out: HealthCheck[] = [];
    for (const m of this.#checks.values())
      for (const c of m.values()) if (c.ServiceName.toLowerCase() === lower && c.ServiceID !== "") out.push(c);
    return out.sort(byNodeThenCheckId);
  }

  checksInState(state: CheckStatus | "any", ws?: WatchSet): HealthCheck[] {
    ws?.add(Topics.checks);
    const out: HealthCheck[] = [];
    for (const m of this.#checks.values()) for (const c of m.values()) if (state === "any" || c.Status === state) out.push(c);
    return out.sort(byNodeThenCheckId);
  }

  /**
   * Index for queries over one service name; falls back to the services table index. With a
   * WatchSet it also watches the name, so a memoized answer can skip the instance scan.
   */
  serviceNameIndex(name: string, ws?: WatchSet): number {
    ws?.add(Topics.serviceName(name));
    return this.#nameIndex.get(name.toLowerCase()) ?? Math.max(this.servicesIndex, 1);
  }

  nodeIndex(name: string): number {
    const lower = name.toLowerCase();
    let max = this.#nodes.get(lower)?.ModifyIndex ?? 0;
    for (const s of this.#services.get(lower)?.values() ?? []) max = Math.max(max, s.ModifyIndex);
    for (const c of this.#checks.get(lower)?.values() ?? []) max = Math.max(max, c.ModifyIndex);
    return Math.max(max, this.nodesIndex, this.servicesIndex);
  }

  get catalogIndex(): number {
    return Math.max(this.nodesIndex, this.servicesIndex, this.checksIndex);
  }

  // ---- mutations (called only from fsm apply) ----

  /** Inserts or updates a node; an identical row keeps its indexes. Returns whether it changed. */
  upsertNode(index: number, node: Omit<Node, "CreateIndex" | "ModifyIndex">): boolean {
    const key = ownString(node.Node.toLowerCase());
    const prev = this.#nodes.get(key);
    if (prev && sameRow(prev, node)) return false;
    this.#nodes.set(key, rowWithIndexes(node, prev?.CreateIndex ?? index, index));
    if (prev && prev.Node !== node.Node) {
      // Answers sort by the node's name as written: a new spelling can move its instances.
      for (const s of this.#services.get(key)?.values() ?? []) this.#orderByName.delete(s.Service.toLowerCase());
    }
    this.#touchNode(index, key);
    return true;
  }

  deleteNode(index: number, name: string): boolean {
    const key = name.toLowerCase();
    if (!this.#nodes.has(key)) return false;
    for (const s of [...(this.#services.get(key)?.values() ?? [])]) this.deleteService(index, name, s.ID);
    for (const c of [...(this.#checks.get(key)?.values() ?? [])]) this.deleteCheck(index, name, c.CheckID);
    this.#nodes.delete(key);
    this.#services.delete(key);
    this.#checks.delete(key);
    this.#instanceChecks.delete(key);
    this.nodesIndex = Math.max(this.nodesIndex, index);
    this.#hub.notify(Topics.nodes);
    this.#hub.notify(Topics.node(key));
    return true;
  }

  upsertService(index: number, nodeName: string, service: Omit<NodeService, "CreateIndex" | "ModifyIndex">): boolean {
    const key = ownString(nodeName.toLowerCase());
    let m = this.#services.get(key);
    if (!m) {
      m = new Map();
      this.#services.set(key, m);
    }
    const prev = m.get(service.ID);
    if (prev && sameRow(prev, service)) return false;
    if (prev && prev.Service.toLowerCase() !== service.Service.toLowerCase()) this.#unindexName(index, prev.Service, key, prev.ID);
    if (prev) this.#summarize(prev, -1);
    const row = rowWithIndexes(service, prev?.CreateIndex ?? index, index);
    m.set(row.ID, row);
    this.#summarize(row, 1);
    const nameKey = ownString(service.Service.toLowerCase());
    let refs = this.#byName.get(nameKey);
    if (!refs) {
      refs = new Map();
      this.#byName.set(nameKey, refs);
    }
    const ref = `${key}\0${row.ID}`;
    if (!refs.has(ref)) {
      refs.set(ref, { nodeKey: key, serviceId: row.ID });
      this.#orderByName.delete(nameKey);
    }
    this.#touchServiceName(index, nameKey);
    this.servicesIndex = Math.max(this.servicesIndex, index);
    this.#hub.notify(Topics.services);
    this.#hub.notify(Topics.node(key));
    return true;
  }

  deleteService(index: number, nodeName: string, serviceId: string): boolean {
    const key = nodeName.toLowerCase();
    const m = this.#services.get(key);
    const prev = m?.get(serviceId);
    if (!m || !prev) return false;
    for (const c of [...(this.#checks.get(key)?.values() ?? [])]) if (c.ServiceID === serviceId) this.deleteCheck(index, nodeName, c.CheckID);
    m.delete(serviceId);
    this.#summarize(prev, -1);
    this.#unindexName(index, prev.Service, key, serviceId);
    this.servicesIndex = Math.max(this.servicesIndex, index);
    this.#hub.notify(Topics.services);
    this.#hub.notify(Topics.node(key));
    return true;
  }

  upsertCheck(index: number, check: Omit<HealthCheck, "CreateIndex" | "ModifyIndex">): boolean {
    const key = ownString(check.Node.toLowerCase());
    let m = this.#checks.get(key);
    if (!m) {
      m = new Map();
      this.#checks.set(key, m);
    }
    const prev = m.get(check.CheckID);
    if (prev && sameRow(prev, check)) return false;
    const row = rowWithIndexes(check, prev?.CreateIndex ?? index, index);
    m.set(row.CheckID, row);
    this.#instanceChecks.delete(key);
    this.#touchChecks(index, key, check, prev);
    return true;
  }

  /**
   * Many checks of one node in one write (a registration may carry thousands): each row is
   * built once and the indexes and watches are touched once for the batch, where upsertCheck
   * per row would touch every service of the node per node-level check.
   */
  /**
   * The rows upsertChecks stores for `checks` (undefined where the stored row is the same),
   * built without changing anything, pausing every few dozen checks: the expensive part of a
   * registration carrying thousands of checks. Valid while the table is unchanged.
   */
  *prepareCheckRows(index: number, nodeName: string, checks: readonly Omit<HealthCheck, "CreateIndex" | "ModifyIndex">[]): SlicedWork<PreparedCheckRows> {
    return yield* this.prepareCheckRowsOf(index, nodeName, checks.length, (i) => checks[i]);
  }

  /**
   * prepareCheckRows for `count` checks made one at a time by `checkAt` (called once per check,
   * in order): what the caller builds per check is garbage as soon as its row is made, instead
   * of a second copy of every check surviving until the apply (issue 12 item 6: survivors are
   * what a scavenge copies; at the body cap that copy was a 5–10 ms pause).
   */
  *prepareCheckRowsOf(index: number, nodeName: string, count: number, checkAt: (i: number) => Omit<HealthCheck, "CreateIndex" | "ModifyIndex">): SlicedWork<PreparedCheckRows> {
    const stored = this.#checks.get(nodeName.toLowerCase());
    // A CheckID given twice compares with its earlier row, as storing one by one would.
    const earlier = new Map<string, HealthCheck>();
    const rows: (HealthCheck | undefined)[] = [];
    for (let i = 0; i < count; i++) {
      const check = checkAt(i);
      const prev = earlier.get(check.CheckID) ?? stored?.get(check.CheckID);
      if (prev && sameRow(prev, check)) rows.push(undefined);
      else {
        const row = rowWithIndexes(check, prev?.CreateIndex ?? index, index);
        earlier.set(row.CheckID, row);
        rows.push(row);
      }
      if (i % 64 === 63) yield;
    }
    return { index, nodeName, rows };
  }

  /**
   * `prepared` with the node's whole check table after the write, built from the stored one
   * without changing it, pausing every few hundred rows. Valid while the table is unchanged.
   */
  *withCheckTable(prepared: PreparedCheckRows): SlicedWork<PreparedCheckRows> {
    const stored = this.#checks.get(prepared.nodeName.toLowerCase());
    const rows = new Map<string, HealthCheck>();
    let n = 0;
    for (const [id, row] of stored ?? []) {
      rows.set(id, row);
      if (++n % 512 === 0) yield;
    }
    const touchedServiceIds = new Set<string>();
    let nodeLevel = false;
    let changed = false;
    for (const row of prepared.rows) {
      if (row === undefined) continue;
      changed = true;
      const prev = rows.get(row.CheckID);
      rows.set(row.CheckID, row);
      // A row carries its check's ServiceID as given.
      if (row.ServiceID === "" || prev?.ServiceID === "") nodeLevel = true;
      if (row.ServiceID) touchedServiceIds.add(row.ServiceID);
      if (prev?.ServiceID) touchedServiceIds.add(prev.ServiceID);
      if (++n % 512 === 0) yield;
    }
    return { ...prepared, table: { rows, changed, touchedServiceIds: [...touchedServiceIds], nodeLevel } };
  }

  /**
   * Stores a node's checks from a whole table built aside (withCheckTable) for this `index` and
   * node, in one swap; false, storing nothing, when `prepared` was not built for them.
   */
  swapPreparedChecks(index: number, nodeName: string, prepared: PreparedCheckRows): boolean {
    if (prepared.index !== index || prepared.nodeName !== nodeName || prepared.table === undefined) return false;
    this.#swapCheckTable(index, nodeName, prepared.table);
    return true;
  }

  /**
   * Stores `checks` for a node at `index`, from rows prepareCheckRows built for exactly these
   * arguments in this state (built now when none are given).
   */
  upsertChecks(index: number, nodeName: string, checks: readonly Omit<HealthCheck, "CreateIndex" | "ModifyIndex">[], prepared?: PreparedCheckRows): void {
    if (checks.length === 0) return;
    const valid = prepared !== undefined && prepared.index === index && prepared.nodeName === nodeName && prepared.rows.length === checks.length ? prepared : undefined;
    if (valid?.table) {
      this.#swapCheckTable(index, nodeName, valid.table);
      return;
    }
    const key = ownString(nodeName.toLowerCase());
    let m = this.#checks.get(key);
    if (!m) {
      m = new Map();
      this.#checks.set(key, m);
    }
    const touchedServiceIds = new Set<string>();
    let nodeLevel = false;
    let changed = false;
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i];
      const prev = m.get(check.CheckID);
      // Without rows built ahead, each is built here as prepareCheckRows would: against the
      // stored row or the batch's earlier one for its CheckID, which `m` holds by now.
      const row = valid ? valid.rows[i] : prev && sameRow(prev, check) ? undefined : rowWithIndexes(check, prev?.CreateIndex ?? index, index);
      if (row === undefined) continue;
      m.set(row.CheckID, row);
      changed = true;
      if (check.ServiceID === "" || prev?.ServiceID === "") nodeLevel = true;
      if (check.ServiceID) touchedServiceIds.add(check.ServiceID);
      if (prev?.ServiceID) touchedServiceIds.add(prev.ServiceID);
    }
    if (!changed) return;
    this.#instanceChecks.delete(key);
    this.checksIndex = Math.max(this.checksIndex, index);
    const svcs = this.#services.get(key);
    if (nodeLevel) for (const s of svcs?.values() ?? []) this.#touchServiceName(index, s.Service.toLowerCase());
    for (const id of touchedServiceIds) {
      const s = svcs?.get(id);
      if (s) this.#touchServiceName(index, s.Service.toLowerCase());
    }
    this.#hub.notify(Topics.checks);
    this.#hub.notify(Topics.node(key));
  }

  /** upsertChecks' end for a table built aside: one swap, then the same index and watch touches. */
  #swapCheckTable(index: number, nodeName: string, table: NonNullable<PreparedCheckRows["table"]>): void {
    if (!table.changed) return;
    const key = ownString(nodeName.toLowerCase());
    this.#checks.set(key, table.rows);
    this.#instanceChecks.delete(key);
    this.checksIndex = Math.max(this.checksIndex, index);
    const svcs = this.#services.get(key);
    if (table.nodeLevel) for (const s of svcs?.values() ?? []) this.#touchServiceName(index, s.Service.toLowerCase());
    for (const id of table.touchedServiceIds) {
      const s = svcs?.get(id);
      if (s) this.#touchServiceName(index, s.Service.toLowerCase());
    }
    this.#hub.notify(Topics.checks);
    this.#hub.notify(Topics.node(key));
  }

  deleteCheck(index: number, nodeName: string, checkId: string): boolean {
    const key = nodeName.toLowerCase();
    const m = this.#checks.get(key);
    const prev = m?.get(checkId);
    if (!m || !prev) return false;
    m.delete(checkId);
    this.#instanceChecks.delete(key);
    this.#touchChecks(index, key, prev, undefined);
    return true;
  }

  /** Every row and the per-table and per-name indexes, for a snapshot. */
  dump(): CatalogDump {
    const services: [string, NodeService[]][] = [];
    for (const [nodeKey, m] of this.#services) services.push([nodeKey, [...m.values()]]);
    const checks: [string, HealthCheck[]][] = [];
    for (const [nodeKey, m] of this.#checks) checks.push([nodeKey, [...m.values()]]);
    return {
      nodes: [...this.#nodes.values()],
      services,
      checks,
      nameIndex: [...this.#nameIndex],
      nodesIndex: this.nodesIndex,
      servicesIndex: this.servicesIndex,
      checksIndex: this.checksIndex,
    };
  }

  /** Replaces the contents with a snapshot's (the caller wakes watchers). */
  load(dump: CatalogDump): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every few hundred rows. Only for tables nobody reads yet (a
   * restore stages a fresh CatalogTables this way, then the live one adopts it at once).
   */
  *loadSlices(dump: CatalogDump): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const node of dump.nodes) {
      this.#nodes.set(node.Node.toLowerCase(), node);
      if (++n % 512 === 0) yield;
    }
    // Pauses count rows, not nodes: one node may carry thousands of services or checks (a
    // registration at the body cap: 6,700), which were one step each, built through an array
    // of [id, row] pairs.
    for (const [nodeKey, rows] of dump.services) {
      const m = new Map<string, NodeService>();
      this.#services.set(nodeKey, m);
      for (const s of rows) {
        m.set(s.ID, s);
        this.#summarize(s, 1);
        const nameKey = s.Service.toLowerCase();
        let refs = this.#byName.get(nameKey);
        if (!refs) {
          refs = new Map();
          this.#byName.set(nameKey, refs);
        }
        refs.set(`${nodeKey}\0${s.ID}`, { nodeKey, serviceId: s.ID });
        if (++n % 512 === 0) yield;
      }
    }
    for (const [nodeKey, rows] of dump.checks) {
      const m = new Map<string, HealthCheck>();
      this.#checks.set(nodeKey, m);
      for (const c of rows) {
        m.set(c.CheckID, c);
        if (++n % 512 === 0) yield;
      }
    }
    for (const [name, idx] of dump.nameIndex) this.#nameIndex.set(name, idx);
    this.nodesIndex = dump.nodesIndex;
    this.servicesIndex = dump.servicesIndex;
    this.checksIndex = dump.checksIndex;
  }

  /**
   * Takes over the rows and indexes of `staged` (loaded with loadSlices), in O(1): a restore
   * replaces the whole catalog in one turn however large it is. `staged` is not used again.
   */
  adopt(staged: CatalogTables): void {
    this.#nodes = staged.#nodes;
    this.#services = staged.#services;
    this.#checks = staged.#checks;
    this.#byName = staged.#byName;
    this.#nameIndex = staged.#nameIndex;
    this.#instanceChecks = staged.#instanceChecks;
    this.#orderByName = staged.#orderByName;
    this.#summaries = staged.#summaries;
    this.nodesIndex = staged.nodesIndex;
    this.servicesIndex = staged.servicesIndex;
    this.checksIndex = staged.checksIndex;
    this.generation++;
  }

  /**
   * Raises every table and per-name index to `index` (a snapshot restore changes everything)
   * without rebuilding the rows, and starts a new generation as a load does.
   */
  raiseIndexes(index: number): void {
    for (const name of this.#nameIndex.keys()) this.#nameIndex.set(name, index);
    this.nodesIndex = this.servicesIndex = this.checksIndex = index;
    this.generation++;
  }

  clear(): void {
    this.#nodes.clear();
    this.#services.clear();
    this.#checks.clear();
    this.#instanceChecks.clear();
    this.#byName.clear();
    this.#nameIndex.clear();
    this.#summaries.clear();
    this.#orderByName.clear();
    this.nodesIndex = this.servicesIndex = this.checksIndex = 0;
    this.generation++;
  }

  /** Adds (+1) or removes (-1) one instance row's contribution to its name's summary. */
  #summarize(row: NodeService, delta: 1 | -1): void {
    let summary = this.#summaries.get(row.Service);
    if (!summary) {
      if (delta < 0) return;
      summary = { instances: 0, tags: new Map() };
      this.#summaries.set(row.Service, summary);
    }
    summary.instances += delta;
    const tags = row.Tags ?? [];
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i];
      if (tags.indexOf(tag) !== i) continue;
      const n = (summary.tags.get(tag) ?? 0) + delta;
      if (n > 0) summary.tags.set(tag, n);
      else summary.tags.delete(tag);
    }
    if (summary.instances <= 0) this.#summaries.delete(row.Service);
  }

  #touchNode(index: number, nodeKey: string): void {
    this.nodesIndex = Math.max(this.nodesIndex, index);
    // A node change alters every health/catalog entry of the services it hosts.
    for (const s of this.#services.get(nodeKey)?.values() ?? []) this.#touchServiceName(index, s.Service.toLowerCase());
    this.#hub.notify(Topics.nodes);
    this.#hub.notify(Topics.node(nodeKey));
  }

  #touchChecks(index: number, nodeKey: string, check: Pick<HealthCheck, "ServiceID">, prev: HealthCheck | undefined): void {
    this.checksIndex = Math.max(this.checksIndex, index);
    const svcs = this.#services.get(nodeKey);
    if (check.ServiceID === "" || prev?.ServiceID === "") {
      for (const s of svcs?.values() ?? []) this.#touchServiceName(index, s.Service.toLowerCase());
    }
    for (const id of [check.ServiceID, prev?.ServiceID]) {
      const s = id ? svcs?.get(id) : undefined;
      if (s) this.#touchServiceName(index, s.Service.toLowerCase());
    }
    this.#hub.notify(Topics.checks);
    this.#hub.notify(Topics.node(nodeKey));
  }

  #touchServiceName(index: number, nameKey: string): void {
    this.#nameIndex.set(nameKey, Math.max(this.#nameIndex.get(nameKey) ?? 0, index));
    this.#hub.notify(Topics.serviceName(nameKey));
  }

  #unindexName(index: number, name: string, nodeKey: string, serviceId: string): void {
    const nameKey = name.toLowerCase();
    const refs = this.#byName.get(nameKey);
    refs?.delete(`${nodeKey}\0${serviceId}`);
    this.#orderByName.delete(nameKey);
    if (refs && refs.size === 0) this.#byName.delete(nameKey);
    // Keep the name's index so a blocking query on a vanished name still sees it move forward.
    this.#touchServiceName(index, nameKey);
  }
}

function isConnectEndpointFor(service: NodeService, lowerName: string): boolean {
  if (service.Kind === "connect-proxy") {
    const dest = service.Proxy?.DestinationServiceName;
    return typeof dest === "string" && dest.toLowerCase() === lowerName;
  }
  return service.Connect?.Native === true && service.Service.toLowerCase() === lowerName;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byCheckId(a: HealthCheck, b: HealthCheck): number {
  return a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0;
}

function byNodeThenCheckId(a: HealthCheck, b: HealthCheck): number {
  return a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : byCheckId(a, b);
}
