import assert from "node:assert/strict";
import { test } from "node:test";
import { unpack } from "msgpackr";
import { EntryType, MessageType, message, type Message } from "../../../src/raft/messages.ts";
import { FRAME_HEADER_BYTES } from "../../../src/transport/frame.ts";
import { LARGE_ENTRY_PIECE_BYTES, RaftWireError, decodeRaftFrame, encodeMessageFrame, encodeMessageFramePieces, encodeSnapshotChunkFrame } from "../../../src/transport/raft-wire.ts";

function payloadOf(frame: Buffer): Uint8Array {
  assert.equal(frame.readUInt32BE(0), frame.byteLength - FRAME_HEADER_BYTES, "the header names the payload length");
  return frame.subarray(FRAME_HEADER_BYTES);
}

function roundTrip(m: Message): Message {
  const decoded = decodeRaftFrame(payloadOf(encodeMessageFrame(m)));
  assert.equal(decoded.kind, "message");
  return decoded.m;
}

test("an AppendEntries message with entries survives the round trip field for field", () => {
  const m = message({
    type: MessageType.App,
    to: 3,
    from: 1,
    term: 7,
    logTerm: 6,
    index: 41,
    commit: 40,
    entries: [
      { term: 7, index: 42, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
      { term: 7, index: 43, type: EntryType.ConfChange, data: new Uint8Array(0) },
    ],
  });
  assert.deepEqual(roundTrip(m), m);
});

test("every message type, the reject flag, large ids and a context round-trip", () => {
  for (const type of Object.values(MessageType)) {
    const m = message({ type, to: 2 ** 52 + 1, from: 9, term: 2 ** 40, reject: true, rejectHint: 12, context: new Uint8Array([9, 9]) });
    assert.deepEqual(roundTrip(m), m, type);
  }
});

test("a snapshot message carries its metadata, configuration and data", () => {
  const m = message({
    type: MessageType.Snap,
    to: 2,
    from: 1,
    term: 3,
    snapshot: { data: new Uint8Array([5, 6, 7, 8]), metadata: { index: 100, term: 3, confState: { voters: [1, 2, 3], learners: [4] } } },
  });
  assert.deepEqual(roundTrip(m), m);
});

test("a snapshot chunk carries its position and, on the first piece, the message", () => {
  const head = message({
    type: MessageType.Snap,
    to: 2,
    from: 1,
    term: 3,
    snapshot: { data: new Uint8Array(0), metadata: { index: 100, term: 3, confState: { voters: [1, 2], learners: [] } } },
  });
  const first = decodeRaftFrame(payloadOf(encodeSnapshotChunkFrame(7, 0, 10, new Uint8Array([1, 2, 3, 4]), head)));
  assert.deepEqual(first, { kind: "snapshot", id: 7, offset: 0, total: 10, chunk: new Uint8Array([1, 2, 3, 4]), m: head });
  const later = decodeRaftFrame(payloadOf(encodeSnapshotChunkFrame(7, 4, 10, new Uint8Array([5, 6]))));
  assert.deepEqual(later, { kind: "snapshot", id: 7, offset: 4, total: 10, chunk: new Uint8Array([5, 6]), m: undefined });
});

test("truncated, padded or foreign payloads are refused, never half-read", () => {
  const whole = payloadOf(encodeMessageFrame(message({ type: MessageType.App, entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(8) }] })));
  for (let cut = 0; cut < whole.byteLength; cut++) {
    assert.throws(() => decodeRaftFrame(whole.subarray(0, cut)), RaftWireError, `cut at ${cut}`);
  }
  const padded = new Uint8Array(whole.byteLength + 1);
  padded.set(whole);
  assert.throws(() => decodeRaftFrame(padded), /trailing bytes/);
  assert.throws(() => decodeRaftFrame(new Uint8Array([0x93, 1, 2, 3])), /unknown kind/);
  const badType = Uint8Array.from(whole);
  badType[3] = 120;
  assert.throws(() => decodeRaftFrame(badType), /unknown message type/);
  const fractionalTerm = Buffer.from(whole);
  // [fixarray 2][kind][fixarray 12][type][reject][0xcb to][0xcb from][0xcb term…]
  fractionalTerm.writeDoubleBE(1.5, 5 + 2 * 9 + 1);
  assert.throws(() => decodeRaftFrame(fractionalTerm), /not a count/);
});

test("frames are plain msgpack: a generic decoder reads the documented arrays", () => {
  const m = message({
    type: MessageType.App,
    to: 3,
    from: 1,
    term: 7,
    logTerm: 6,
    index: 41,
    commit: 40,
    entries: [{ term: 7, index: 42, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) }],
  });
  const generic = unpack(Buffer.from(payloadOf(encodeMessageFrame(m)))) as unknown[];
  assert.equal(generic[0], 1);
  const [type, reject, to, from, term, logTerm, index, commit, rejectHint, context, snapshot, entries] = generic[1] as unknown[];
  assert.deepEqual([reject, to, from, term, logTerm, index, commit, rejectHint, context, snapshot], [false, 3, 1, 7, 6, 41, 40, 0, null, null]);
  assert.equal(typeof type, "number");
  assert.deepEqual(entries, [[7, 42, 0, Buffer.from([1, 2, 3])]]);
});

test("a large entry's data goes out as a piece of its own, not copied, and the pieces are the whole frame's bytes", () => {
  const big = new Uint8Array(LARGE_ENTRY_PIECE_BYTES + 3).fill(7);
  const m = message({
    type: MessageType.App,
    to: 2,
    from: 1,
    term: 3,
    entries: [
      { term: 3, index: 5, type: EntryType.Normal, data: new Uint8Array([1]) },
      { term: 3, index: 6, type: EntryType.Normal, data: big },
      { term: 3, index: 7, type: EntryType.Normal, data: new Uint8Array([2, 3]) },
    ],
  });
  const pieces = encodeMessageFramePieces(m);
  assert.equal(pieces.length, 3);
  assert.equal(pieces[1].buffer, big.buffer, "the entry's own memory");
  assert.deepEqual(Buffer.concat(pieces), encodeMessageFrame(m));
  assert.deepEqual(Buffer.concat(encodeMessageFramePieces({ ...m, entries: [m.entries[1]] })), encodeMessageFrame({ ...m, entries: [m.entries[1]] }));
  assert.deepEqual(encodeMessageFramePieces({ ...m, entries: [m.entries[0]] }), [encodeMessageFrame({ ...m, entries: [m.entries[0]] })]);
});
