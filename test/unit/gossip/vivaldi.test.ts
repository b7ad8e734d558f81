import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "../../../src/gossip/codec.ts";
import { CoordinateTracker, decodeCoordinatePayload, encodeCoordinatePayload } from "../../../src/gossip/coordinate-tracker.ts";
import { MessageKind } from "../../../src/gossip/messages.ts";
import { CoordinateError, estimatedRtt, newCoordinate, VivaldiClient } from "../../../src/gossip/vivaldi.ts";
import { seededRng } from "../../../src/runtime/rng.ts";

test("vivaldi - a new coordinate is serf's origin: 8 dimensions, error 1.5, height 1e-5", () => {
  assert.deepEqual(newCoordinate(), { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 });
});

test("vivaldi - distance is |a-b| + heights, adjusted unless that is not positive", () => {
  const a = { Vec: [0.003, 0.004, 0, 0, 0, 0, 0, 0], Error: 1, Adjustment: 0.001, Height: 0.001 };
  const b = { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1, Adjustment: 0.001, Height: 0.001 };
  assert.ok(Math.abs(estimatedRtt(a, b) - (0.005 + 0.002 + 0.002)) < 1e-12);
  const negative = { ...b, Adjustment: -1 };
  assert.ok(Math.abs(estimatedRtt(a, negative) - 0.007) < 1e-12);
});

test("vivaldi - two nodes pinging each other converge on their RTT", () => {
  const a = new VivaldiClient(seededRng(1));
  const b = new VivaldiClient(seededRng(2));
  for (let i = 0; i < 200; i++) {
    a.update("b", b.coordinate, 0.05);
    b.update("a", a.coordinate, 0.05);
  }
  const est = estimatedRtt(a.coordinate, b.coordinate);
  assert.ok(Math.abs(est - 0.05) < 0.005, `estimate ${est}`);
  assert.ok(a.coordinate.Error < 0.5);
});

test("vivaldi - bad samples are refused and change nothing", () => {
  const c = new VivaldiClient(seededRng(3));
  const before = c.coordinate;
  assert.throws(() => c.update("x", newCoordinate(), -0.001), CoordinateError);
  assert.throws(() => c.update("x", newCoordinate(), 11), CoordinateError);
  assert.throws(() => c.update("x", { ...newCoordinate(), Vec: [0, 0] }, 0.01), CoordinateError);
  assert.throws(() => c.update("x", { ...newCoordinate(), Height: Number.NaN }, 0.01), CoordinateError);
  assert.deepEqual(c.coordinate, before);
});

test("coordinate tracker - ack payloads carry the coordinate and feed the peer's cache", () => {
  const coord = { Vec: [0.1, 0, 0, 0, 0, 0, 0, 0.2], Error: 0.7, Adjustment: -0.001, Height: 0.002 };
  assert.deepEqual(decodeCoordinatePayload(encodeCoordinatePayload(coord)), coord);
  assert.equal(decodeCoordinatePayload(new Uint8Array([2, 1, 2])), undefined);
  const ack = decodeMessage(encodeMessage({ kind: MessageKind.ack, seq: 9, payload: encodeCoordinatePayload(coord) }));
  assert.equal(ack.kind, MessageKind.ack);
  const tracker = new CoordinateTracker("me", seededRng(4));
  tracker.pingComplete("peer", 12, ack.kind === MessageKind.ack ? ack.payload : undefined);
  assert.deepEqual(tracker.cached("peer"), coord);
  assert.notDeepEqual(tracker.coordinate, newCoordinate());
  tracker.pingComplete("other", 12, new Uint8Array([7]));
  assert.equal(tracker.rejected, 1);
  tracker.forget("peer");
  assert.equal(tracker.cached("peer"), undefined);
});
