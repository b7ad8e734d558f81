import { StateType } from "../raft/raft.ts";
import type { Clock } from "../runtime/clock.ts";
import type { CounterHandle, Metrics, SampleHandle } from "../runtime/metrics.ts";

// The Raft series Consul (hashicorp/raft) emits, so dashboards and alerts built on them keep
// working: how long a write takes to commit, how long the log write and the state machine
// take, and every change of role. Disk latency is part of leader liveness (USERS.md #19), so
// it is visible here rather than only as elections.

export const RAFT_METRIC_NAMES = {
  apply: "consul.raft.apply",
  commitTime: "consul.raft.commitTime",
  fsmApply: "consul.raft.fsm.apply",
  leaderDispatchLog: "consul.raft.leader.dispatchLog",
  followerStoreLogs: "consul.raft.rpc.appendEntries.storeLogs",
  followerInstallSnapshot: "consul.raft.rpc.installSnapshot",
  stateLeader: "consul.raft.state.leader",
  stateCandidate: "consul.raft.state.candidate",
  stateFollower: "consul.raft.state.follower",
} as const;

export class RaftMetrics {
  readonly #clock: Clock;
  readonly #apply: CounterHandle;
  readonly #commitTime: SampleHandle;
  readonly #fsmApply: SampleHandle;
  readonly #dispatchLog: SampleHandle;
  readonly #storeLogs: SampleHandle;
  readonly #installSnapshot: SampleHandle;
  readonly #states: ReadonlyMap<StateType, CounterHandle>;

  constructor(metrics: Metrics, clock: Clock) {
    this.#clock = clock;
    this.#apply = metrics.counter(RAFT_METRIC_NAMES.apply);
    this.#commitTime = metrics.sample(RAFT_METRIC_NAMES.commitTime);
    this.#fsmApply = metrics.sample(RAFT_METRIC_NAMES.fsmApply);
    this.#dispatchLog = metrics.sample(RAFT_METRIC_NAMES.leaderDispatchLog);
    this.#storeLogs = metrics.sample(RAFT_METRIC_NAMES.followerStoreLogs);
    this.#installSnapshot = metrics.sample(RAFT_METRIC_NAMES.followerInstallSnapshot);
    this.#states = new Map([
      [StateType.Leader, metrics.counter(RAFT_METRIC_NAMES.stateLeader)],
      [StateType.Candidate, metrics.counter(RAFT_METRIC_NAMES.stateCandidate)],
      [StateType.PreCandidate, metrics.counter(RAFT_METRIC_NAMES.stateCandidate)],
      [StateType.Follower, metrics.counter(RAFT_METRIC_NAMES.stateFollower)],
    ]);
  }

  /** A proposal entered the log on the leader; pass the result to committed(). */
  proposed(): number {
    this.#apply.inc();
    return this.#clock.monotonicMs();
  }

  committed(proposedAtMs: number): void {
    this.#commitTime.observe(this.#clock.monotonicMs() - proposedAtMs);
  }

  fsmApplied(startedAtMs: number): void {
    this.#fsmApply.observe(this.#clock.monotonicMs() - startedAtMs);
  }

  now(): number {
    return this.#clock.monotonicMs();
  }

  logWritten(durationMs: number, leading: boolean): void {
    (leading ? this.#dispatchLog : this.#storeLogs).observe(durationMs);
  }

  /** A follower installed a snapshot from the leader; `durationMs` covers persisting and restoring it. */
  snapshotInstalled(durationMs: number): void {
    this.#installSnapshot.observe(durationMs);
  }

  roleChanged(state: StateType): void {
    this.#states.get(state)?.inc();
  }
}
