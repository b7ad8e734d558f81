// The leader's view of one follower's log (etcd's tracker/progress.go): Probe sends one
// MsgApp per heartbeat until the follower's match is found, Replicate pipelines within the
// inflight limits, Snapshot waits for an InstallSnapshot to finish.
import { Inflights } from "./inflights.ts";

export const ProgressState = {
  Probe: "StateProbe",
  Replicate: "StateReplicate",
  Snapshot: "StateSnapshot",
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Index of the snapshot being sent while in Snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In Probe: one MsgApp is outstanding, wait for its answer or a heartbeat response. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;
  /** Highest commit index sent to this follower (in a MsgApp or heartbeat) by this leader. */
  sentCommit = 0;
  /** Leader tick at which the last acknowledged heartbeat was sent (lease accounting). */
  leaseAckTick = Number.NEGATIVE_INFINITY;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot's index.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records that a MsgApp with `entries` entries (of `bytes`) ending the send was issued. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    } else {
      throw new Error(`sending append in unhandled state ${this.state}`);
    }
  }

  /** A MsgAppResp acknowledged n; false when it is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the MsgApp at `rejected`, with the follower's hint of where to retry.
   * Returns false when the rejection is stale (out of order).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }

  toString(): string {
    return `${this.state} match=${this.match} next=${this.next}${this.isLearner ? " learner" : ""}${this.state === ProgressState.Snapshot ? ` pendingSnap=${this.pendingSnapshot}` : ""}${this.inflights.full() ? " inflight-full" : ""}`;
  }
}
