import { test } from "node:test";
import assert from "node:assert/strict";
import type { RaftNode } from "../../../src/server/raft-node.ts";
import { requestWork, type StepOutcome } from "../../../src/runtime/cooperative-scheduler.ts";
import { electLeader, loopbackMembers, startInMemoryNode } from "../../support/raft-loopback.ts";

// Issue 17's cluster writer: on a leader streaming big answers, a write waits for its Raft
// round (the followers' acknowledgements, its own log write), which land in the poll phase.
// While a proposal is in flight the request-work scheduler must give the loop back after one
// step of bulk work per turn, not after a whole turn budget. Counted in steps and turns of the
// event loop, not in milliseconds, so a busy machine cannot make it pass or fail.

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

void test("raft node - while a write's round is in flight, bulk request work takes one step per turn of the event loop", async () => {
  const ids = [1, 2, 3];
  const members = await loopbackMembers(ids);
  const nodes: RaftNode[] = [];
  let streaming = true;
  try {
    for (const id of ids) {
      nodes.push(await startInMemoryNode(id, members));
    }
    const leader = await electLeader(nodes);
    await leader.propose(Uint8Array.of(0));

    // A heavy read streaming: steps far shorter than the turn budget, never finished.
    let window: number[] | undefined;
    requestWork.enqueue({
      step: (): StepOutcome => {
        if (window) window[window.length - 1]++;
        spin(0.02);
        return streaming ? "again" : "done";
      },
      fail: (err) => assert.fail(String(err)),
    });
    // An immediate queued after each turn's scheduler work marks where a turn ends.
    const observe = (): void => {
      window?.push(0);
      if (streaming) setImmediate(observe);
    };
    setImmediate(observe);
    await new Promise((r) => setTimeout(r, 20));

    const perWrite: number[][] = [];
    for (let i = 0; i < 20; i++) {
      window = [0];
      const written = leader.propose(Uint8Array.of(i + 1));
      assert.equal(requestWork.urgentMarks, 1, "the write is marked urgent while in flight");
      await written;
      perWrite.push(window.filter((n) => n > 0));
      window = undefined;
      assert.equal(requestWork.urgentMarks, 0, "the mark is released once the write applied");
    }
    const worst = Math.max(...perWrite.flat());
    assert.equal(worst, 1, `at most one bulk step per turn while a write was in flight (per write: ${perWrite.map((w) => w.join("+")).join(" ")})`);
    // Bulk work was not stopped: it advanced during the writes.
    assert.ok(perWrite.flat().length > 0, "the stream advanced while writes were in flight");
  } finally {
    streaming = false;
    for (const n of nodes) await n.close();
  }
});
