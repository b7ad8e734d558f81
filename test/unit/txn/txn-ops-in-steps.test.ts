import { test } from "node:test";
import assert from "node:assert/strict";
import type { TxnOp } from "../../../src/fsm/command.ts";
import type { HttpSettings } from "../../../src/http/context.ts";
import { TXN_OPS_PER_STEP, TXN_VALUE_CHARS_PER_STEP, txnOpsInSteps } from "../../../src/http/handlers/txn.ts";
import { runWhole, type SlicedWork } from "../../../src/runtime/sliced-work.ts";
import { testHttpSettings } from "../../support/test-agent.ts";

// A txn body at its size cap is 512 KiB of base64 values, checked and decoded op by op: in
// steps, so a turn of the event loop runs only as many as its budget allows (issue 12 item 6).

const settings: HttpSettings = testHttpSettings("n1");

/** How many steps (calls of next) the work took, and its result. */
function steps(work: SlicedWork<TxnOp[]>): { steps: number; ops: TxnOp[] } {
  for (let n = 1; ; n++) {
    const step = work.next();
    if (step.done === true) return { steps: n, ops: step.value };
  }
}

function kvOps(count: number, valueBytes: number): unknown[] {
  return Array.from({ length: count }, (_, i) => ({ KV: { Verb: "set", Key: `big/${i}`, Value: Buffer.alloc(valueBytes, i).toString("base64") } }));
}

test("txn ops in steps - large values: a step decodes only the ops that reach TXN_VALUE_CHARS_PER_STEP of base64", () => {
  const raw = kvOps(64, 6000);
  const valueChars = Buffer.alloc(6000).toString("base64").length;
  // A step ends after the op whose value reaches the step's share.
  const opsPerStep = Math.ceil(TXN_VALUE_CHARS_PER_STEP / valueChars);
  const { steps: taken, ops } = steps(txnOpsInSteps({ settings }, raw));
  assert.equal(taken, Math.ceil(64 / opsPerStep));
  assert.equal(ops.length, 64);
  const first = ops[0];
  assert.ok(first.Kind === "kv" && first.Value.equals(Buffer.alloc(6000, 0)));
});

test("txn ops in steps - small ops: at most TXN_OPS_PER_STEP per step, same ops as decoded whole", () => {
  const raw = kvOps(128, 10);
  const { steps: taken, ops } = steps(txnOpsInSteps({ settings }, raw));
  assert.equal(taken, 128 / TXN_OPS_PER_STEP);
  assert.deepEqual(ops, runWhole(txnOpsInSteps({ settings }, raw)));
  assert.equal(ops.length, 128);
});
