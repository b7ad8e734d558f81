import { after, test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { StateMachine, type PreparedApply } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import type { SlicedWork } from "../../../src/runtime/sliced-work.ts";
import { RaftConsensus } from "../../../src/server/raft-consensus.ts";
import { StateStore } from "../../../src/state/store.ts";
import { wideRegister } from "./large-command-server-child.ts";

// Once a wide proposal is encoded, the proposer's command is garbage (issue 12 item 6): kept
// until its apply answered, thousands of checks survived every scavenge of the Raft round.
// The closure that encodes it used to share propose()'s context with the closures awaiting the
// apply, which kept it reachable. Checked with a WeakRef and a full collection while the
// entry's preparation is held open.

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** A state machine whose preparation of a wide entry waits, pausing, until released. */
class HeldStateMachine extends StateMachine {
  held = false;
  release = false;
  override *prepare(index: number, cmd: Command): SlicedWork<PreparedApply | undefined> {
    this.held = true;
    while (!this.release) yield;
    return yield* super.prepare(index, cmd);
  }
}

const started: RaftConsensus[] = [];
after(async () => {
  for (const c of started) await c.close();
});

test("wide proposal - the proposer's command is collectable while its entry waits to apply", async () => {
  const fsm = new HeldStateMachine(new StateStore());
  const consensus = await RaftConsensus.start({ nodeId: "abcdef01-2345-4678-9abc-def0123456bb", serverAddress: "127.0.0.1:8300", storage: { kind: "memory" }, fsm, bootstrap: true, selfElect: true });
  started.push(consensus);
  let cmd: Command | undefined = wideRegister("wide-release", 2000);
  const proposed = new WeakRef(cmd);
  const applied = consensus.propose(cmd);
  cmd = undefined;
  while (!fsm.held) await new Promise((r) => setTimeout(r, 5));
  // The entry is encoded, committed and being prepared; its answer is still awaited.
  for (let i = 0; i < 3 && proposed.deref() !== undefined; i++) {
    await new Promise((r) => setTimeout(r, 5));
    collectGarbage();
  }
  const released = proposed.deref() === undefined;
  fsm.release = true;
  const outcome = await applied;
  assert.equal(outcome.result.ok, true);
  assert.equal(fsm.state.catalog.nodeChecks("wide-release").length, 2000);
  assert.equal(released, true, "the proposer's command was still reachable while its apply was pending");
});
