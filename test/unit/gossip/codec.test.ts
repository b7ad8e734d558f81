import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, decodePacket, encodeCompound, encodeMessage, GossipCodecError } from "../../../src/gossip/codec.ts";
import { MessageKind, WireStatus } from "../../../src/gossip/messages.ts";
import type { GossipMessage } from "../../../src/gossip/messages.ts";

const samples: GossipMessage[] = [
  { kind: MessageKind.ping, seq: 7, target: "node-b", sourceName: "node-a", sourceAddr: "10.0.0.1:8301" },
  { kind: MessageKind.indirectPing, seq: 8, target: "node-c", targetAddr: "10.0.0.3:8301", wantNack: true, sourceName: "node-a", sourceAddr: "10.0.0.1:8301" },
  { kind: MessageKind.ack, seq: 9 },
  { kind: MessageKind.nack, seq: 10 },
  { kind: MessageKind.suspect, incarnation: 3, name: "node-b", from: "node-a" },
  { kind: MessageKind.alive, incarnation: 4, name: "node-b", addr: "10.0.0.2:8301", tags: { role: "consul", dc: "dc1", port: "8300", build: "1.20.0" } },
  { kind: MessageKind.dead, incarnation: 5, name: "node-b", from: "node-b" },
  { kind: MessageKind.userEvent, ltime: 11, name: "deploy", payload: new Uint8Array([1, 2, 3]), coalesce: true },
  { kind: MessageKind.leaveIntent, ltime: 13, name: "node-c", incarnation: 6, prune: true },
  {
    kind: MessageKind.pushPull,
    join: true,
    members: [{ name: "node-a", addr: "10.0.0.1:8301", incarnation: 1, status: WireStatus.left, tags: {} }],
    eventLTime: 12,
    events: [{ ltime: 11, name: "deploy", payload: new Uint8Array([9]) }],
  },
];

function normalize(m: GossipMessage): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
}

test("codec - every message kind round-trips", () => {
  for (const msg of samples) assert.deepEqual(normalize(decodeMessage(encodeMessage(msg))), normalize(msg), `kind ${msg.kind}`);
});

test("codec - a ping fits in well under 100 bytes", () => {
  assert.ok(encodeMessage(samples[0]).length < 60);
});

test("codec - compound packets carry several messages and decode flat", () => {
  const parts = samples.slice(0, 8).map(encodeMessage);
  const [packet, ...rest] = encodeCompound(parts);
  assert.equal(rest.length, 0);
  assert.equal(packet[0], MessageKind.compound);
  assert.deepEqual(decodePacket(packet).map(normalize), samples.slice(0, 8).map(normalize));
  assert.equal(encodeCompound([parts[0]])[0], parts[0], "a single message is sent as is");
});

test("codec - garbage and truncation are rejected with a codec error", () => {
  const good = encodeCompound([encodeMessage(samples[0]), encodeMessage(samples[2])])[0];
  assert.throws(() => decodePacket(good.subarray(0, good.length - 3)), GossipCodecError);
  assert.throws(() => decodePacket(new Uint8Array([])), GossipCodecError);
  assert.throws(() => decodePacket(new Uint8Array([99, 0x90])), GossipCodecError);
  const wrongShape = encodeMessage({ kind: MessageKind.ack, seq: 1 });
  wrongShape[0] = MessageKind.ping;
  assert.throws(() => decodePacket(wrongShape), GossipCodecError);
});
