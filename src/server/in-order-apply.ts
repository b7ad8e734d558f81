import type { ApplyResult, Command } from "../fsm/command.ts";
import type { PreparedApply, StateMachine } from "../fsm/apply.ts";
import { runSliced } from "../runtime/sliced-work.ts";
import { isWideCommand } from "./command-codec.ts";

// Applies commands to a state machine outside Raft (LocalLog's single voter, a client agent's
// mirror of its own catalog writes) in the order they come, preparing large ones in slices
// first as Raft servers do (issue 12 item 6): a registration with thousands of checks or a
// snapshot restore builds its rows over several turns and is then applied in one short one.
// The usual small command applies at once, in the caller's turn, when nothing is queued.

/** Whether `cmd` has work worth preparing in slices before its apply. */
function worthPreparing(cmd: Command): boolean {
  return cmd.Type === "snapshot-restore" || (cmd.Type === "catalog-register" && isWideCommand(cmd));
}

export class InOrderApplier {
  readonly #fsm: StateMachine;
  #lastIndex: number;
  /** The last queued apply, while one is being prepared or waits behind one. */
  #tail: Promise<unknown> | undefined;

  constructor(fsm: StateMachine) {
    this.#fsm = fsm;
    this.#lastIndex = fsm.state.lastIndex;
  }

  /** Index of the last command applied (or being applied). */
  lastIndex(): number {
    return this.#lastIndex;
  }

  /**
   * Applies `cmd` at the next index once everything queued before it applied. Synchronous
   * (a result, not a promise) when nothing was queued and it is small.
   */
  apply(cmd: Command): { index: number; result: ApplyResult } | Promise<{ index: number; result: ApplyResult }> {
    if (this.#tail === undefined && !worthPreparing(cmd)) {
      const index = ++this.#lastIndex;
      return { index, result: this.#fsm.apply(index, cmd) };
    }
    const applied = (this.#tail ?? Promise.resolve()).then(() => this.#prepareAndApply(cmd));
    const tail = applied.then(
      () => undefined,
      () => undefined,
    );
    this.#tail = tail;
    void tail.then(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    return applied;
  }

  async #prepareAndApply(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
    // Everything else waits behind this command, so the index stays free while it prepares.
    const index = this.#lastIndex + 1;
    let prepared: PreparedApply | undefined;
    try {
      prepared = worthPreparing(cmd) ? await runSliced(this.#fsm.prepare(index, cmd)) : undefined;
    } catch {
      // apply meets the same problem and answers it.
      prepared = undefined;
    }
    this.#lastIndex = index;
    return { index, result: this.#fsm.apply(index, cmd, prepared) };
  }
}
