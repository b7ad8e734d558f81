import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, FrameError, FrameSplitter, LARGE_FRAME_BYTES, encodeFrame } from "../../../src/transport/frame.ts";

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

test("frame - a large frame is filled in a buffer of its own as it arrives, between small frames in the same reads", () => {
  const big = Buffer.alloc(LARGE_FRAME_BYTES * 3 + 17);
  for (let i = 0; i < big.byteLength; i += 101) big[i] = i & 0xff;
  const framed = (payload: Buffer): Buffer => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(payload.byteLength, 0);
    return Buffer.concat([header, payload]);
  };
  const small = Buffer.from("small");
  const wire = Buffer.concat([framed(small), framed(big), framed(small), framed(Buffer.alloc(LARGE_FRAME_BYTES)), framed(small)]);
  for (const step of [1000, 65_536, 70_001, wire.byteLength]) {
    const splitter = new FrameSplitter();
    const out: Buffer[] = [];
    for (let at = 0; at < wire.byteLength; at += step) out.push(...splitter.push(Buffer.from(wire.subarray(at, at + step))));
    assert.deepEqual(
      out.map((p) => p.byteLength),
      [5, big.byteLength, 5, LARGE_FRAME_BYTES, 5],
      `step ${step}`,
    );
    assert.ok(out[1].equals(big));
    for (const large of [out[1], out[3]]) assert.equal(large.buffer.byteLength, large.byteLength, "a large payload owns its memory");
  }
});
