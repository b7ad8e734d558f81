import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { batchedOutput } from "../../../src/runtime/batched-output.ts";

test("batched output - lines of one event-loop turn go out in one write, in order", async () => {
  const writes: string[] = [];
  const out = batchedOutput((chunk) => writes.push(chunk));
  out.write("a\n");
  out.write("b\n");
  out.write("c\n");
  assert.deepEqual(writes, [], "nothing is written before the turn ends");
  await nextTurn();
  assert.deepEqual(writes, ["a\nb\nc\n"]);
  out.write("d\n");
  await nextTurn();
  assert.deepEqual(writes, ["a\nb\nc\n", "d\n"]);
});

test("batched output - flush writes what is pending at once, and the later turn writes nothing twice", async () => {
  const writes: string[] = [];
  const out = batchedOutput((chunk) => writes.push(chunk));
  out.write("x\n");
  out.flush();
  assert.deepEqual(writes, ["x\n"]);
  await nextTurn();
  assert.deepEqual(writes, ["x\n"]);
});
