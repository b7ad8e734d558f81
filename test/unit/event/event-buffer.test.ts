import { test } from "node:test";
import assert from "node:assert/strict";
import { EventBuffer, eventListIndex, type UserEvent } from "../../../src/state/event-buffer.ts";

const ev = (ID: string, Name = "deploy"): Omit<UserEvent, "LTime"> => ({
  ID, Name, Payload: Buffer.alloc(0), NodeFilter: "", ServiceFilter: "", TagFilter: "", Version: 1,
});

test("event buffer - keeps the most recent events, oldest first, bounded", () => {
  const b = new EventBuffer(3);
  for (let i = 0; i < 5; i++) b.add(ev(`0000000${i}-0000-0000-0000-000000000000`, i % 2 ? "odd" : "even"));
  assert.equal(b.size, 3);
  assert.deepEqual(b.list().map((e) => e.LTime), [3, 4, 5]);
  assert.deepEqual(b.list("even").map((e) => e.LTime), [3, 5]);
});

test("event list index - XOR of the last ID's 64-bit halves (Go IDToIndex), 1 when empty", () => {
  assert.equal(eventListIndex([]), 1n);
  const last = { ...ev("b54fe110-7af5-cafc-d1fb-afc8ba432b1c"), LTime: 1 };
  assert.equal(eventListIndex([last]), 0xb54fe1107af5cafcn ^ 0xd1fbafc8ba432b1cn);
});

test("event buffer - a waiting lister wakes once on the next event", () => {
  const b = new EventBuffer();
  let wakes = 0;
  b.onNextEvent(() => wakes++);
  b.add(ev("00000000-0000-0000-0000-000000000001"));
  b.add(ev("00000000-0000-0000-0000-000000000002"));
  assert.equal(wakes, 1);
});
