import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { batchedOutput } from "../../../src/runtime/batched-output.ts";

test("batched output - lines of several event-loop turns go out together, in order, within milliseconds", async (t) => {
  // The flush timer is mocked: with a real one, a busy machine can take the process off the CPU
  // for longer than the delay between two turns, and the timer then fires between them.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const writes: string[] = [];
  const out = batchedOutput((chunk) => writes.push(chunk));
  out.write("a\n");
  out.write("b\n");
  await nextTurn();
  out.write("c\n");
  assert.deepEqual(writes, [], "nothing is written at once");
  t.mock.timers.tick(50);
  assert.deepEqual(writes, ["a\nb\nc\n"], "written together within milliseconds");
  out.write("d\n");
  t.mock.timers.tick(50);
  assert.deepEqual(writes, ["a\nb\nc\n", "d\n"]);
});

test("batched output - a chunk's worth of pending lines is written at once", () => {
  const writes: string[] = [];
  const out = batchedOutput((chunk) => writes.push(chunk));
  const line = `${"x".repeat(1023)}\n`;
  for (let i = 0; i < 64; i++) out.write(line);
  assert.equal(writes.length, 1);
  assert.equal(writes[0].length, 64 * 1024);
  out.flush();
});

test("batched output - flush writes what is pending at once, and the timer writes nothing twice", async () => {
  const writes: string[] = [];
  const out = batchedOutput((chunk) => writes.push(chunk));
  out.write("x\n");
  out.flush();
  assert.deepEqual(writes, ["x\n"]);
  await sleep(50);
  assert.deepEqual(writes, ["x\n"]);
});
