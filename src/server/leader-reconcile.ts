import { isIP } from "node:net";
import type { CatalogDeregisterCommand, CatalogRegisterCommand, NodeFields, ServiceFields } from "../fsm/command.ts";
import { consulServiceRow, serfHealthCheck } from "../model/member-rows.ts";
import { SERF_HEALTH_CHECK_ID, type HealthCheck, type Node, type NodeService } from "../model/catalog.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import { METRIC_NAMES, type Metrics } from "../runtime/metrics.ts";
import type { Consensus } from "./consensus.ts";
import { type LocalMember, MEMBER_STATUS, type MemberChange, type ReconcileStatus } from "../model/members.ts";

// The leader duty that mirrors the gossip pool into the catalog (Consul's reconcileMember):
// an alive member is registered with a passing serfHealth (servers also with the `consul`
// service), a failed one gets serfHealth critical, a left or reaped one is deregistered, and
// a catalog node with serfHealth that gossip no longer knows is deregistered too.
//
// States: standby (not leader) → leading (a full pass queued on entry and every interval;
// member changes queued as they come, drained one proposal at a time) → standby when
// leadership is lost, → stopped for good. Leadership is polled from consensus.isLeader(),
// and `leadershipChanged()` lets the Raft layer say so at once.

export { SERF_CHECK_ALIVE_OUTPUT, SERF_CHECK_FAILED_OUTPUT, SERF_CHECK_NAME } from "../model/member-rows.ts";

/** What the duty reads of the catalog. */
export interface ReconcileCatalog {
  getNode(name: string): Node | undefined;
  listNodes(): Node[];
  nodeChecks(name: string): HealthCheck[];
  getService(node: string, serviceId: string): NodeService | undefined;
}

/** What the duty needs of the gossip pool. */
export interface ReconcileMembership {
  members(): LocalMember[];
  onMemberChange(listener: (change: MemberChange) => void): () => void;
}

export interface LeaderReconcileDeps {
  /** readBarrier, when there: each full pass first waits for the log to be applied (Consul's raft.Barrier). */
  consensus: Pick<Consensus, "propose" | "isLeader"> & Partial<Pick<Consensus, "readBarrier">>;
  catalog: ReconcileCatalog;
  membership: ReconcileMembership;
  clock: Clock;
  logger: Logger;
  /** This server's node name: the leader never deregisters itself. */
  nodeName: string;
  datacenter: string;
  /** consul.leader.barrier and consul.leader.reconcile (one full pass) are timed here. */
  metrics?: Metrics;
}

export interface LeaderReconcileSettings {
  /** Full pass period while leading (Consul's ReconcileInterval). */
  intervalMs: number;
  /** How often leadership is polled, and how soon a failed proposal is retried. */
  leaderCheckMs: number;
}

export const DEFAULT_LEADER_RECONCILE_SETTINGS: LeaderReconcileSettings = { intervalMs: 60_000, leaderCheckMs: 250 };

type Phase = "standby" | "leading" | "stopped";

export function memberChangeOf(m: LocalMember): MemberChange {
  const status: ReconcileStatus = m.status === MEMBER_STATUS.left ? "left" : m.status === MEMBER_STATUS.failed ? "failed" : "alive";
  return { name: m.name, addr: m.addr, port: m.port, tags: m.tags, status };
}

interface CommandInputs {
  catalog: ReconcileCatalog;
  nodeName: string;
  datacenter: string;
  nowMs: number;
}

function consulService(m: MemberChange): ServiceFields | undefined {
  if (m.tags.role !== "consul") return undefined;
  const port = Number(m.tags.port);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return consulServiceRow(port, { raft: m.tags.raft_vsn ?? "3", consul: (m.tags.build ?? "").split(":")[0] });
}

function nodeFields(m: MemberChange, existing: Node | undefined, datacenter: string): NodeFields {
  if (existing) {
    const { CreateIndex: _c, ModifyIndex: _m, ...rest } = existing;
    return { ...rest, Address: m.addr };
  }
  const tagged: Record<string, string> = { lan: m.addr, wan: m.addr };
  if (isIP(m.addr) === 4) {
    tagged.lan_ipv4 = m.addr;
    tagged.wan_ipv4 = m.addr;
  }
  return {
    ID: m.tags.id ?? "",
    Node: m.name,
    Address: m.addr,
    Datacenter: datacenter,
    TaggedAddresses: tagged,
    Meta: { "consul-network-segment": m.tags.segment ?? "" },
  };
}

/** Whether a member belongs in this datacenter's catalog (Consul's shouldHandleMember). */
function handles(m: MemberChange, datacenter: string): boolean {
  const role = m.tags.role;
  if (role !== "consul" && role !== "node") return false;
  return (m.tags.dc ?? datacenter) === datacenter;
}

/** The one catalog command that brings a member's catalog entry in line, or none when it already is. */
export function reconcileCommand(m: MemberChange, inputs: CommandInputs): CatalogRegisterCommand | CatalogDeregisterCommand | undefined {
  const { catalog, nodeName, datacenter, nowMs } = inputs;
  if (m.status === "left" || m.status === "reaped") {
    // A server deregistering itself would race its own anti-entropy; its successor does it.
    if (m.name === nodeName) return undefined;
    if (!catalog.getNode(m.name)) return undefined;
    return { Type: "catalog-deregister", Node: m.name, NowMs: nowMs };
  }
  if (!handles(m, datacenter)) return undefined;
  const existing = catalog.getNode(m.name);
  const serf = catalog.nodeChecks(m.name).find((c) => c.CheckID === SERF_HEALTH_CHECK_ID);
  const alive = m.status === "alive";
  const service = alive ? consulService(m) : undefined;
  if (existing && existing.Address === m.addr && serf?.Status === (alive ? "passing" : "critical")) {
    if (!service) return undefined;
    const registered = catalog.getService(m.name, "consul");
    if (registered && registered.Port === service.Port) return undefined;
  }
  return {
    Type: "catalog-register",
    Node: nodeFields(m, existing, datacenter),
    SkipNodeUpdate: existing !== undefined && existing.Address === m.addr,
    Service: service,
    Checks: [serfHealthCheck(m.name, alive)],
    NowMs: nowMs,
  };
}

export class LeaderReconcile {
  readonly #deps: LeaderReconcileDeps;
  readonly #settings: LeaderReconcileSettings;
  readonly #pending = new Map<string, MemberChange>();
  #phase: Phase = "standby";
  #fullPassQueued = false;
  #draining = false;
  #pollTimer: TimerHandle | undefined;
  #nextFullPassMs = 0;
  /** When the full pass under way started (monotonic ms), for consul.leader.reconcile. */
  #fullPassStartedMs: number | undefined;
  #unsubscribe: () => void = () => {};

  constructor(deps: LeaderReconcileDeps, settings: Partial<LeaderReconcileSettings> = {}) {
    this.#deps = deps;
    this.#settings = { ...DEFAULT_LEADER_RECONCILE_SETTINGS, ...settings };
  }

  get phase(): Phase {
    return this.#phase;
  }

  start(): void {
    if (this.#phase === "stopped") return;
    this.#unsubscribe = this.#deps.membership.onMemberChange((change) => this.#enqueue(change));
    this.leadershipChanged();
    this.#arm();
  }

  stop(): void {
    this.#phase = "stopped";
    this.#unsubscribe();
    this.#pollTimer?.cancel();
    this.#pollTimer = undefined;
    this.#pending.clear();
    this.#fullPassStartedMs = undefined;
  }

  /** Re-reads consensus.isLeader(): entering leadership queues a full pass, leaving drops the queue. */
  leadershipChanged(): void {
    if (this.#phase === "stopped") return;
    const leader = this.#deps.consensus.isLeader();
    if (leader && this.#phase === "standby") {
      this.#phase = "leading";
      this.#queueFullPass();
    } else if (!leader && this.#phase === "leading") {
      this.#phase = "standby";
      this.#pending.clear();
      this.#fullPassQueued = false;
      this.#fullPassStartedMs = undefined;
    }
    this.#drain();
  }

  /** Resolves once nothing is queued (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#draining || (this.#phase === "leading" && (this.#pending.size > 0 || this.#fullPassQueued))) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #enqueue(change: MemberChange): void {
    if (this.#phase !== "leading") return;
    this.#pending.set(change.name, change);
    this.#drain();
  }

  #queueFullPass(): void {
    this.#fullPassQueued = true;
    this.#nextFullPassMs = this.#deps.clock.monotonicMs() + this.#settings.intervalMs;
  }

  #arm(): void {
    if (this.#phase === "stopped") return;
    this.#pollTimer = this.#deps.clock.setTimer(this.#settings.leaderCheckMs, () => {
      this.#pollTimer = undefined;
      if (this.#phase === "leading" && this.#deps.clock.monotonicMs() >= this.#nextFullPassMs) this.#queueFullPass();
      this.leadershipChanged();
      this.#arm();
    });
  }

  /** Moves the full pass into the queue: every member, plus catalog nodes gossip has forgotten. */
  #expandFullPass(): void {
    this.#fullPassQueued = false;
    const { membership, catalog, nodeName } = this.#deps;
    const known = new Set<string>();
    for (const m of membership.members()) {
      known.add(m.name);
      if (!this.#pending.has(m.name)) this.#pending.set(m.name, memberChangeOf(m));
    }
    for (const node of catalog.listNodes()) {
      if (known.has(node.Node) || node.Node === nodeName) continue;
      if (!catalog.nodeChecks(node.Node).some((c) => c.CheckID === SERF_HEALTH_CHECK_ID)) continue;
      if (!this.#pending.has(node.Node)) this.#pending.set(node.Node, { name: node.Node, addr: node.Address, port: 0, tags: {}, status: "reaped" });
    }
  }

  #drain(): void {
    if (this.#draining || this.#phase !== "leading") return;
    this.#draining = true;
    void this.#drainLoop().finally(() => {
      this.#draining = false;
    });
  }

  async #drainLoop(): Promise<void> {
    const { consensus, catalog, nodeName, datacenter, clock, logger } = this.#deps;
    while (this.#phase === "leading") {
      if (this.#fullPassQueued) {
        // As Consul's leader loop: a barrier first, so the pass reads everything committed.
        if (consensus.readBarrier) {
          const barrierStarted = clock.monotonicMs();
          try {
            await consensus.readBarrier();
          } catch (e) {
            logger.error("failed to wait for barrier", { error: e instanceof Error ? e.message : String(e) });
            return;
          }
          this.#deps.metrics?.measureSince(METRIC_NAMES.leaderBarrier, barrierStarted);
          if (this.#phase !== "leading") return;
        }
        this.#fullPassStartedMs = clock.monotonicMs();
        this.#expandFullPass();
      }
      const next = this.#pending.values().next();
      if (next.done) {
        this.#fullPassDone();
        return;
      }
      const change = next.value;
      this.#pending.delete(change.name);
      const cmd = reconcileCommand(change, { catalog, nodeName, datacenter, nowMs: clock.now() });
      if (!cmd) continue;
      try {
        const { result } = await consensus.propose(cmd);
        if (!result.ok) logger.warn("failed to reconcile member", { member: change.name, error: result.error });
        else if (cmd.Type === "catalog-deregister") logger.info("deregistered member", { member: change.name, reason: change.status });
        else if (change.status === "failed") logger.info("member failed, marking health critical", { member: change.name });
        else logger.info("member joined, marking health alive", { member: change.name });
      } catch (e) {
        // Lost leadership or no quorum: keep the change (unless a newer one came) for the next try.
        if (!this.#pending.has(change.name)) this.#pending.set(change.name, change);
        logger.warn("failed to reconcile member", { member: change.name, error: e instanceof Error ? e.message : String(e) });
        this.#fullPassDone();
        return;
      }
    }
  }

  /** Consul times reconcile() whether it succeeded or not. */
  #fullPassDone(): void {
    if (this.#fullPassStartedMs === undefined) return;
    this.#deps.metrics?.measureSince(METRIC_NAMES.leaderReconcile, this.#fullPassStartedMs);
    this.#fullPassStartedMs = undefined;
  }
}
