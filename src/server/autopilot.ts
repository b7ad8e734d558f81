import type { AutopilotConfig, AutopilotConfigFields } from "../model/autopilot.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { StateStore } from "../state/store.ts";
import { computeAutopilotState, type AutopilotNodeStatus, type AutopilotServerInput, type AutopilotState } from "./autopilot-health.ts";
import { deadServerRemovals, stablePromotions } from "./autopilot-reconcile.ts";
import type { Consensus } from "./consensus.ts";
import type { RaftPeer, RaftPeerProgress } from "./raft-consensus.ts";
import { type LocalMember, MEMBER_STATUS } from "../model/members.ts";

// The autopilot duty (Consul's autopilot, run by raft-autopilot on the leader). Every server
// judges health every healthIntervalMs from what it knows (a follower knows only gossip and
// its own position, which is what `?stale` answers), so /v1/operator/autopilot/* answer from
// the latest judgement. While this server leads it also:
//   - seeds the configuration from the agent's `autopilot` block when Raft holds none (a
//     fresh cluster, or a snapshot restored from before autopilot was Raft state);
//   - every reconcileIntervalMs removes dead servers and promotes stable non-voters
//     (autopilot-reconcile.ts), one Raft configuration change at a time.
// States: standby (not leader) → leading (history restarts: nobody is stable for a new
// leader until it has watched them) → standby; stopped for good. Leadership is polled every
// tick, and leadershipChanged() lets the Raft layer say so at once.

/** What the duty needs of the server's Raft (RaftConsensus); absent for a LocalLog server. */
export interface AutopilotRaft {
  readonly nodeId: string;
  configuration(): { voters: RaftPeer[]; learners: RaftPeer[] };
  progress(): Map<string, RaftPeerProgress>;
  leaderId(): string;
  term(): number;
  removePeer(nodeId: string): Promise<void>;
  addPeer(peer: RaftPeer, options?: { voter: boolean }): Promise<void>;
}

export interface AutopilotSelf {
  nodeId: string;
  nodeName: string;
  version: string;
  /** Server RPC "ip:port". */
  serverAddress: string;
}

export interface AutopilotDeps {
  consensus: Pick<Consensus, "isLeader" | "propose" | "appliedIndex" | "lastContactMs">;
  raft?: AutopilotRaft;
  membership: { members(): LocalMember[] };
  state: StateStore;
  self: AutopilotSelf;
  /** The agent configuration's values, written when Raft holds no configuration. */
  seed: AutopilotConfigFields;
  clock: Clock;
  logger: Logger;
}

export interface AutopilotSettings {
  /** Health judgement period (Consul's ServerHealthInterval). */
  healthIntervalMs: number;
  /** Dead-server cleanup and promotion period (Consul's AutopilotInterval). */
  reconcileIntervalMs: number;
}

const DEFAULT_AUTOPILOT_SETTINGS: AutopilotSettings = { healthIntervalMs: 2000, reconcileIntervalMs: 10_000 };

type Phase = "standby" | "leading" | "stopped";

const NODE_STATUS: Record<number, AutopilotNodeStatus> = {
  [MEMBER_STATUS.none]: "none",
  [MEMBER_STATUS.alive]: "alive",
  [MEMBER_STATUS.leaving]: "leaving",
  [MEMBER_STATUS.left]: "left",
  [MEMBER_STATUS.failed]: "failed",
};

/** The serf status text of a gossip member ("alive", "failed"…). */
function memberStatusText(member: LocalMember): AutopilotNodeStatus {
  return NODE_STATUS[member.status] ?? "none";
}

/** The `build` tag ("1.20.0:abcdef") without its revision. */
function memberBuildVersion(member: LocalMember): string {
  const build = member.tags.build ?? "";
  const at = build.indexOf(":");
  return at < 0 ? build : build.slice(0, at);
}

export class AutopilotDuty {
  readonly #deps: AutopilotDeps;
  readonly #settings: AutopilotSettings;
  #phase: Phase = "standby";
  #latest: AutopilotState | undefined;
  #timer: TimerHandle | undefined;
  #busy = false;
  #nextReconcileMs = 0;

  constructor(deps: AutopilotDeps, settings: Partial<AutopilotSettings> = {}) {
    this.#deps = deps;
    this.#settings = { ...DEFAULT_AUTOPILOT_SETTINGS, ...settings };
  }

  get phase(): Phase {
    return this.#phase;
  }

  start(): void {
    if (this.#phase === "stopped" || this.#timer) return;
    this.#tick();
  }

  stop(): void {
    this.#phase = "stopped";
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** The configuration in force: Raft's, or the agent's values until a leader has seeded it. */
  configuration(): AutopilotConfig {
    return this.#deps.state.autopilot.get() ?? { ...this.#deps.seed, CreateIndex: 0, ModifyIndex: 0 };
  }

  /** The latest judgement (judged now when there is none yet). */
  current(): AutopilotState {
    return this.#latest ?? this.refresh();
  }

  /** Judges health now and keeps the result. */
  refresh(): AutopilotState {
    const { clock } = this.#deps;
    this.#latest = computeAutopilotState({
      nowMs: clock.now(),
      config: this.configuration(),
      servers: this.#gatherServers(),
      leaderLastIndex: this.#leaderLastIndex(),
      term: this.#deps.raft?.term() ?? 1,
      previous: this.#latest,
    });
    return this.#latest;
  }

  /** Re-reads consensus.isLeader(): a new leader starts judging afresh and seeds the configuration. */
  leadershipChanged(): void {
    if (this.#phase === "stopped") return;
    const leader = this.#deps.consensus.isLeader();
    if (leader === (this.#phase === "leading")) return;
    this.#phase = leader ? "leading" : "standby";
    this.#latest = undefined;
    // The first cleanup waits a full interval: gossip and replication need time to report in.
    this.#nextReconcileMs = this.#deps.clock.monotonicMs() + this.#settings.reconcileIntervalMs;
    if (leader) this.#runLeaderDuties();
  }

  /** Resolves once no leader duty is in flight (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#busy) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#phase === "stopped") return;
    this.leadershipChanged();
    this.refresh();
    this.#runLeaderDuties();
    this.#timer = this.#deps.clock.setTimer(this.#settings.healthIntervalMs, () => this.#tick());
  }

  #runLeaderDuties(): void {
    if (this.#busy || this.#phase !== "leading") return;
    this.#busy = true;
    void this.#leaderDuties()
      .catch((err: unknown) => this.#deps.logger.warn("autopilot: leader duties failed", { error: errorText(err) }))
      .finally(() => {
        this.#busy = false;
      });
  }

  async #leaderDuties(): Promise<void> {
    const { state, consensus, clock, logger, seed } = this.#deps;
    if (state.autopilot.get() === undefined) {
      const { result } = await consensus.propose({ Type: "autopilot-set-config", Op: "seed", Config: seed });
      if (!result.ok) logger.warn("autopilot: failed to initialize the configuration", { error: result.error });
    }
    if (clock.monotonicMs() < this.#nextReconcileMs) return;
    this.#nextReconcileMs = clock.monotonicMs() + this.#settings.reconcileIntervalMs;
    await this.#reconcile();
  }

  async #reconcile(): Promise<void> {
    const { raft, logger, consensus } = this.#deps;
    if (!raft) return;
    const servers = this.current().servers;
    const decision = deadServerRemovals(servers, this.configuration());
    for (const kept of decision.kept) {
      logger.debug(
        kept.why === "min-quorum"
          ? "autopilot: will not remove a dead server: fewer voters than min_quorum would remain"
          : "autopilot: will not remove a dead server: removing a majority of voters is not safe",
        { id: kept.id, name: kept.name },
      );
    }
    for (const dead of decision.remove) {
      if (!consensus.isLeader()) return;
      logger.info(dead.reason === "stale" ? "autopilot: removing stale server" : "autopilot: removing dead server", { id: dead.id, name: dead.name });
      try {
        await raft.removePeer(dead.id);
      } catch (err) {
        logger.warn("autopilot: failed to remove server", { id: dead.id, name: dead.name, error: errorText(err) });
        return;
      }
      this.refresh();
    }
    // One kind of configuration change per round: promotions wait for the next one.
    if (decision.remove.length > 0) return;
    const learners = new Map(raft.configuration().learners.map((p) => [p.id, p]));
    for (const id of stablePromotions(servers)) {
      const peer = learners.get(id);
      if (!peer || !consensus.isLeader()) continue;
      logger.info("autopilot: promoting server", { id, address: peer.address });
      try {
        await raft.addPeer(peer, { voter: true });
      } catch (err) {
        logger.warn("autopilot: failed to promote server", { id, error: errorText(err) });
        break;
      }
      this.refresh();
    }
  }

  #leaderLastIndex(): number | undefined {
    const { raft, consensus } = this.#deps;
    if (consensus.isLeader()) return consensus.appliedIndex();
    // A follower knows the leader's position only through its own.
    return raft ? undefined : consensus.appliedIndex();
  }

  /** The Raft configuration's servers with what gossip and replication say of each. */
  #gatherServers(): AutopilotServerInput[] {
    const { raft, consensus, membership, self } = this.#deps;
    const members = membership.members();
    const leading = consensus.isLeader();
    const selfMember = members.find((m) => m.name === self.nodeName);
    const selfInput = (voter: boolean, leader: boolean): AutopilotServerInput => ({
      id: self.nodeId,
      name: self.nodeName,
      address: self.serverAddress,
      nodeStatus: selfMember ? memberStatusText(selfMember) : "alive",
      version: self.version,
      voter,
      leader,
      lastIndex: consensus.appliedIndex(),
      lastContactMs: leader ? 0 : consensus.lastContactMs(),
      meta: {},
    });
    if (!raft) return [selfInput(true, leading)];
    const leaderId = raft.leaderId();
    const progress = raft.progress();
    const describe = (peer: RaftPeer, voter: boolean): AutopilotServerInput => {
      const leader = peer.id !== "" && peer.id === leaderId;
      if (peer.id === raft.nodeId) return selfInput(voter, leader);
      const member = members.find((m) => m.tags.id === peer.id);
      const replication = progress.get(peer.id);
      return {
        id: peer.id,
        name: member?.name ?? this.#catalogNodeName(peer.id) ?? "(unknown)",
        address: peer.address,
        nodeStatus: member ? memberStatusText(member) : "none",
        version: member ? memberBuildVersion(member) : "",
        voter,
        leader,
        lastIndex: replication?.matchIndex,
        lastContactMs: leader ? 0 : replication?.lastContactMs,
        meta: {},
      };
    };
    const config = raft.configuration();
    return [...config.voters.map((p) => describe(p, true)), ...config.learners.map((p) => describe(p, false))];
  }

  #catalogNodeName(nodeId: string): string | undefined {
    return this.#deps.state.catalog.listNodes().find((n) => n.ID === nodeId)?.Node;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
