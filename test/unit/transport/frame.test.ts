import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, FrameError, encodeFrame } from "../../../src/transport/frame.ts";

test("frame - values split across arbitrary TCP chunks decode whole and in order", () => {
  const values = [{ k: "m", n: 1 }, { k: "m", data: new Uint8Array([1, 2, 3]) }, "third"];
  const wire = Buffer.concat(values.map(encodeFrame));
  for (const step of [1, 3, 7, wire.byteLength]) {
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let at = 0; at < wire.byteLength; at += step) out.push(...decoder.push(wire.subarray(at, at + step)));
    assert.equal(out.length, 3);
    assert.deepEqual(out[0], { k: "m", n: 1 });
    assert.deepEqual([...((out[1] as { data: Uint8Array }).data)], [1, 2, 3]);
    assert.equal(out[2], "third");
  }
});

test("frame - a length beyond the limit is a protocol error, not an allocation", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1025, 0);
  assert.throws(() => decoder.push(header), FrameError);
});
