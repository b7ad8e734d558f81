import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, message } from "../../src/raft/messages.ts";
import { RawNode } from "../../src/raft/raw-node.ts";
import { seededRng } from "../../src/runtime/rng.ts";
import { newStorage } from "./harness.ts";

// A follower's answers to heartbeats may leave while its current Ready is being written
// (takeHeartbeatResponses), but only in a term it has stored: an answer in a term still
// being written waits for that write, as every message of the Ready that changes the term.

function follower(): { raw: RawNode; storage: ReturnType<typeof newStorage> } {
  const storage = newStorage([1, 2, 3]);
  const raw = new RawNode({ id: 2, storage, rng: seededRng(1), electionTick: 10, heartbeatTick: 1, applied: 1 });
  return { raw, storage };
}

const heartbeat = (term: number, tick: number) => message({ type: MessageType.Heartbeat, from: 1, to: 2, term, commit: 1, index: tick });

void test("heartbeat answers - in the stored term they are taken out of the Ready, even while one is being written", () => {
  const { raw, storage } = follower();
  raw.step(heartbeat(1, 7));
  // The leader's first message sets the known leader: a Ready is being carried out meanwhile.
  const rd = raw.ready();
  assert.deepEqual(rd.messages.map((m) => m.type), [MessageType.HeartbeatResp]);
  raw.step(heartbeat(1, 8));
  const early = raw.takeHeartbeatResponses();
  assert.deepEqual(early.map((m) => [m.type, m.to, m.term, m.index]), [[MessageType.HeartbeatResp, 1, 1, 8]]);
  assert.deepEqual(raw.takeHeartbeatResponses(), [], "taken once");
  storage.append(rd.entries);
  raw.advance();
  assert.equal(raw.hasReady(), false, "nothing of it is left for the next Ready");
});

void test("heartbeat answers - in a term not yet stored they wait for the write of that term", () => {
  const { raw, storage } = follower();
  raw.step(heartbeat(2, 3));
  assert.deepEqual(raw.takeHeartbeatResponses(), [], "term 2 is not stored yet");
  const rd = raw.ready();
  assert.equal(rd.hardState?.term, 2);
  assert.deepEqual(rd.messages.map((m) => [m.type, m.term]), [[MessageType.HeartbeatResp, 2]], "it leaves with the Ready that stores term 2");
  raw.step(heartbeat(2, 4));
  assert.deepEqual(raw.takeHeartbeatResponses(), [], "term 2 is still being written");
  storage.setHardState(rd.hardState!);
  raw.advance();
  assert.deepEqual(raw.takeHeartbeatResponses().map((m) => [m.type, m.term, m.index]), [[MessageType.HeartbeatResp, 2, 4]], "once written, the answer leaves");
});
