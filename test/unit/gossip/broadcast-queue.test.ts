import { test } from "node:test";
import assert from "node:assert/strict";
import { BroadcastQueue } from "../../../src/gossip/broadcast-queue.ts";

const bytes = (label: string): Uint8Array => new TextEncoder().encode(label);
const text = (list: Uint8Array[]): string[] => list.map((b) => new TextDecoder().decode(b));

test("broadcast queue - least-transmitted first, newest first among equals", () => {
  const q = new BroadcastQueue(100);
  q.enqueue({ key: "a", bytes: bytes("a1"), onFinished: undefined });
  q.enqueue({ key: "b", bytes: bytes("b1"), onFinished: undefined });
  assert.deepEqual(text(q.take(0, 2, 10)), ["b1"], "only one fits; the newest goes");
  q.enqueue({ key: "c", bytes: bytes("c1"), onFinished: undefined });
  assert.deepEqual(text(q.take(0, 100, 10)), ["c1", "a1", "b1"], "never-sent ones before the once-sent");
});

test("broadcast queue - a newer broadcast for the same key invalidates the older", () => {
  const q = new BroadcastQueue(100);
  let finished = 0;
  q.enqueue({ key: "node-1", bytes: bytes("alive-1"), onFinished: () => finished++ });
  q.enqueue({ key: "node-1", bytes: bytes("suspect-1"), onFinished: undefined });
  q.enqueue({ key: undefined, bytes: bytes("event"), onFinished: undefined });
  q.enqueue({ key: undefined, bytes: bytes("event2"), onFinished: undefined });
  assert.equal(finished, 1, "the superseded broadcast is finished");
  assert.equal(q.size, 3);
  assert.deepEqual(text(q.take(0, 100, 10)).sort(), ["event", "event2", "suspect-1"]);
});

test("broadcast queue - items retire after the transmit limit", () => {
  const q = new BroadcastQueue(100);
  let done = false;
  q.enqueue({ key: "x", bytes: bytes("x"), onFinished: () => (done = true) });
  assert.equal(q.take(0, 100, 3).length, 1);
  assert.equal(q.take(0, 100, 3).length, 1);
  assert.equal(done, false);
  assert.equal(q.take(0, 100, 3).length, 1);
  assert.equal(done, true);
  assert.equal(q.take(0, 100, 3).length, 0);
  assert.equal(q.size, 0);
});

test("broadcast queue - per-item overhead counts against the byte limit", () => {
  const q = new BroadcastQueue(100);
  for (let i = 0; i < 5; i++) q.enqueue({ key: `k${i}`, bytes: new Uint8Array(10), onFinished: undefined });
  assert.equal(q.take(2, 36, 5).length, 3, "3 × (10 + 2) = 36 fits, a 4th does not");
});

test("broadcast queue - depth is bounded by dropping the most-transmitted", () => {
  const q = new BroadcastQueue(3);
  q.enqueue({ key: "old", bytes: bytes("old"), onFinished: undefined });
  q.take(0, 100, 10);
  q.enqueue({ key: "n1", bytes: bytes("n1"), onFinished: undefined });
  q.enqueue({ key: "n2", bytes: bytes("n2"), onFinished: undefined });
  q.enqueue({ key: "n3", bytes: bytes("n3"), onFinished: undefined });
  assert.equal(q.size, 3);
  assert.equal(q.droppedTotal, 1);
  assert.deepEqual(text(q.take(0, 100, 10)), ["n3", "n2", "n1"]);
});
