import type { ApplyResult, Command } from "../fsm/command.ts";
import type { StateMachine } from "../fsm/apply.ts";
import type { RaftLogStatus } from "./raft-node.ts";
import { InOrderApplier } from "./in-order-apply.ts";

/**
 * What the layers above need from replication. Raft implements it later; `LocalLog` is the
 * single-voter, in-memory stand-in used by -dev, so nothing above changes when Raft lands.
 */
/** How a command is proposed. */
export interface ProposeOptions {
  /**
   * The proposer keeps no reference into the command and never reads it again (one just
   * decoded from a request body): a lone voter may apply the object itself instead of a copy
   * (RaftConsensus). Commands built from live state (the agent's anti-entropy) are not.
   */
  handedOver?: boolean;
}

export interface Consensus {
  /** Resolves once the command is committed and applied, with apply's result and the index. */
  propose(cmd: Command, options?: ProposeOptions): Promise<{ index: number; result: ApplyResult }>;
  isLeader(): boolean;
  /** "ip:port" of the leader's server RPC address, or "" without a leader. */
  leaderAddress(): string;
  /** Milliseconds since this server last heard from the leader (0 on the leader). */
  lastContactMs(): number;
  peers(): string[];
  /** Index of the last applied entry. */
  appliedIndex(): number;
  /**
   * For `?consistent` reads (ReadIndex): resolves once this server confirmed a leader still
   * leads and its state machine has applied everything committed when the read arrived.
   * Rejects (NotLeaderError, `code: "not-leader"`) when no leader confirms in time.
   */
  readBarrier(): Promise<void>;
  /** Calls `cb(isLeader)` whenever this server gains or loses leadership; returns an unsubscribe. */
  onLeadershipChange(cb: (isLeader: boolean) => void): () => void;
  /** Raft's term and log position; absent where no Raft runs (the dev-mode local log). */
  logStatus?(): RaftLogStatus | undefined;
}

export class LocalLog implements Consensus {
  readonly #applier: InOrderApplier;
  readonly #address: string;

  constructor(fsm: StateMachine, options: { serverAddress: string }) {
    this.#applier = new InOrderApplier(fsm);
    this.#address = options.serverAddress;
  }

  /** Applies in proposal order; a large registration or restore is prepared in slices first. */
  propose(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
    return Promise.resolve(this.#applier.apply(cmd));
  }

  isLeader(): boolean {
    return true;
  }

  leaderAddress(): string {
    return this.#address;
  }

  lastContactMs(): number {
    return 0;
  }

  peers(): string[] {
    return [this.#address];
  }

  appliedIndex(): number {
    return this.#applier.lastIndex();
  }

  readBarrier(): Promise<void> {
    return Promise.resolve();
  }

  /** A LocalLog leads from construction on and never stops: the callback never fires. */
  onLeadershipChange(_cb: (isLeader: boolean) => void): () => void {
    return () => {};
  }
}
