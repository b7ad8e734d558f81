import { test } from "node:test";
import assert from "node:assert/strict";
import { Packr } from "msgpackr";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { packSlices, unpackSlices } from "../../../src/state/msgpack-slices.ts";
import { decodeCommand, decodeCommandSlices, decodedCopy, encodeCommand, encodeCommandSlices, isWideCommand, localCopy, localStandIn } from "../../../src/server/command-codec.ts";
import type { Command } from "../../../src/fsm/command.ts";
import { runCounted } from "../../support/sliced-work.ts";

// The sliced reader and writer must be indistinguishable from one msgpackr call: every server
// decodes a large entry with the sliced reader, and entries written either way meet in one log.

const packr = new Packr({ useRecords: false, int64AsType: "bigint" });

function bigConfig(n: number): Record<string, unknown> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`key-${i}`, { nested: i, s: "x" }]));
}

function proxyRegister(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const Config = bigConfig(n);
  for (const [k, v] of Object.entries(extra)) Object.defineProperty(Config, k, { value: v, enumerable: true, writable: true, configurable: true });
  return { Type: "catalog-register", Node: { Node: "n" }, Service: { ID: "p", Service: "p", Kind: "connect-proxy", Proxy: { DestinationServiceName: "web", Config } } };
}

function preparedQuery(tags: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const Tags = Array.from({ length: tags }, (_, i) => `tag-${i}`);
  return { Type: "prepared-query-set", Query: { ID: "q", Name: "n", Service: { Service: "web", Tags, OnlyPassing: true, ...extra } } };
}

function documents(): unknown[] {
  const wide = Array.from({ length: 3000 }, (_, i) => ({ CheckID: `c-${i}`, Flags: BigInt(i) << 40n, Value: Buffer.from(`v${i}`), Skip: undefined, Neg: -0, Text: i % 7 === 0 ? "lone \ud800 surrogate" : "é ✓ 𝄞" }));
  return [
    {},
    [],
    { Type: "kv-set", Key: "k", Value: Buffer.alloc(300_000, 7), Flags: 18446744073709551615n, NowMs: 1 },
    { Type: "catalog-register", Node: { Node: "n", Meta: { a: "1" } }, Checks: wide, Nested: { Deep: { Deeper: [1, [2, [3]]] } } },
    { __proto__: null, plain: true },
    { Big: "x".repeat(200_000), Many: Array.from({ length: 70_000 }, (_, i) => i), Map: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, { i }])) },
    [null, true, false, 1.5, -1, 2 ** 40, "s", Buffer.from([1, 2, 3]), new Uint8Array([4, 5])],
    // A long map below the walk depth (a proxy's Config), with entries written on their own.
    proxyRegister(6000, { ["__proto__"]: "renamed", Inner: bigConfig(400), Huge: "y".repeat(60_000), Small: { a: 1 }, Flags: 1n << 62n, Gone: undefined }),
    // A long array deeper than the walk depth, inside maps that hold other entries (a prepared query's Service.Tags).
    preparedQuery(3000, { Near: "_agent", Deep: { Inner: Array.from({ length: 400 }, (_, i) => [i, `t${i}`]) } }),
    // A large map with keys that are not strings, below every walk depth tried: msgpackr reads it its own way, whole.
    { Type: "x", Service: { Proxy: { Config: { Inner: new Map(Array.from({ length: 5000 }, (_, i) => [i, `v${i}`])) } } } },
    // Byte strings past LARGE_BINARY_BYTES are written by the slicer itself and joined in pieces.
    { Type: "snapshot-restore", Data: Buffer.alloc(9 * 1024 * 1024 + 3, 5), Tail: new Uint8Array(1024 * 1024).fill(9), After: "x" },
  ];
}

test("msgpack slices - write the very bytes pack() writes and read what unpack() reads, at every walk depth", () => {
  for (const doc of documents()) {
    const whole = packr.pack(doc);
    for (const depth of [0, 1, 2, 3]) {
      const sliced = runWhole(packSlices(packr, doc, depth));
      assert.equal(Buffer.compare(sliced, whole), 0, `bytes differ at depth ${depth}`);
      assert.deepEqual(runWhole(unpackSlices(packr, whole, depth)), packr.unpack(whole));
    }
  }
});

test("msgpack slices - a key msgpackr renames is renamed alike, truncated input and trailing bytes are refused", () => {
  const bytes = packr.pack(JSON.parse('{"__proto__": {"x": 1}, "y": [1, 2]}'));
  assert.deepEqual(runWhole(unpackSlices(packr, bytes, 2)), packr.unpack(bytes));
  const doc = packr.pack({ a: Array.from({ length: 500 }, (_, i) => `value ${i}`) });
  assert.throws(() => runWhole(unpackSlices(packr, doc.subarray(0, doc.length - 3), 1)));
  assert.throws(() => runWhole(unpackSlices(packr, Buffer.concat([doc, Buffer.from([1])]), 1)), /end of buffer not reached/);
});

test("msgpack slices - commands: wide ones are told apart cheaply and round-trip through both paths", () => {
  const small: Command = { Type: "kv-set", Op: "set", Key: "k", Value: Buffer.alloc(600_000), Flags: 0n, NowMs: 1 };
  assert.equal(isWideCommand(small), false);
  const wide = { Type: "txn", Ops: Array.from({ length: 300 }, (_, i) => ({ Kind: "kv", Verb: "set", Key: `k${i}`, Value: Buffer.from("v"), Flags: 0n })) } as unknown as Command;
  assert.equal(isWideCommand(wide), true);
  const restore: Command = { Type: "snapshot-restore", Data: Buffer.alloc(2 * 1024 * 1024, 1) };
  assert.equal(isWideCommand(restore), true);
  for (const cmd of [small, wide, restore]) {
    const bytes = encodeCommand(cmd);
    assert.equal(Buffer.compare(Buffer.from(runWhole(encodeCommandSlices(cmd))), Buffer.from(bytes)), 0);
    // Entry bytes may arrive as a plain Uint8Array (log, transport): byte fields still come back as Buffers.
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decoded = runWhole(decodeCommandSlices(view));
    assert.deepEqual(decoded, decodeCommand(view));
    if (decoded.Type === "kv-set") assert.ok(Buffer.isBuffer(decoded.Value));
  }
});

// Commands a copy may or may not stand for, shared by decodedCopy and localCopy: a copy is
// only right when decoding the encoded bytes would give an equal value.
const COPY_BASE = { Type: "session-create", Session: { ID: "x", Name: "n", Checks: ["a"], TTL: "10s", Behavior: "release", LockDelay: 15, Extra: { Deep: [1.5, null, true, undefined] } } };
const COPY_CASES: [unknown, boolean][] = [
  [COPY_BASE, true],
  [{ ...COPY_BASE, Name: "lone \ud800" }, false],
  [{ ...COPY_BASE, Name: "x".repeat(300) + "\udc00" }, false],
  [{ ...COPY_BASE, Port: -0 }, false],
  [JSON.parse('{"Type":"session-create","__proto__":{"a":1}}'), false],
  [{ ...COPY_BASE, Flags: 1n }, false],
  [{ ...COPY_BASE, Value: Buffer.from("v") }, false],
  [{ ...COPY_BASE, When: new Date(0) }, false],
];
const caseLabel = (cmd: unknown): string => JSON.stringify(cmd, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)).slice(0, 120);

/** The copy equals what a decode of the bytes gives and shares nothing with the command. */
function assertStandsFor(copy: Command | undefined, cmd: unknown, bytes: Uint8Array): void {
  assert.deepStrictEqual(copy, decodeCommand(bytes));
  assert.notEqual(copy, cmd);
  assert.notEqual((copy as typeof COPY_BASE).Session.Extra, COPY_BASE.Session.Extra);
}

test("command codec - decodedCopy stands for the decoded value only when it is equal, and shares nothing with the command", () => {
  for (const [cmd, expected] of COPY_CASES) {
    const bytes = encodeCommand(cmd as Command);
    const copy = decodedCopy(cmd as Command, bytes);
    assert.equal(copy !== undefined, expected, caseLabel(cmd));
    if (expected) assertStandsFor(copy, cmd, bytes);
  }
});

test("command codec - localCopy stands for the decoded value without encoding, only when equal and within its byte bound", () => {
  const bound = 64 * 1024;
  const cases: [unknown, boolean][] = [
    ...COPY_CASES,
    [{ ...COPY_BASE, Name: "caf\u00e9 \ufffd \ud7ff" }, true],
    [{ ...COPY_BASE, Name: "pair \ud83d\ude00" }, false],
    [{ ...COPY_BASE, Meta: { ["key \udc00"]: "v" } }, false],
    // Bytes past the bound would be decoded in slices: those need writing.
    [{ ...COPY_BASE, Output: "o".repeat(bound / 3) }, false],
    [{ ...COPY_BASE, Many: Array.from({ length: bound / 9 }, (_, i) => i) }, false],
    [{ ...COPY_BASE, Output: "o".repeat(bound / 4) }, true],
  ];
  for (const [cmd, expected] of cases) {
    const copy = localCopy(cmd as Command, bound);
    assert.equal(copy !== undefined, expected, caseLabel(cmd));
    if (!expected) continue;
    const bytes = encodeCommand(cmd as Command);
    assert.ok(bytes.byteLength < bound, caseLabel(cmd));
    assertStandsFor(copy, cmd, bytes);
  }
});

test("command codec - localStandIn gives the command itself exactly where localCopy gives a copy", () => {
  const bound = 64 * 1024;
  const cases: unknown[] = [
    ...COPY_CASES.map(([cmd]) => cmd),
    { ...COPY_BASE, Name: "pair \ud83d\ude00" },
    { ...COPY_BASE, Meta: { ["key \udc00"]: "v" } },
    { ...COPY_BASE, Many: [1, , 3] },
    { ...COPY_BASE, Output: "o".repeat(bound / 3) },
    { ...COPY_BASE, Output: "o".repeat(bound / 4) },
  ];
  for (const cmd of cases) {
    const copy = localCopy(cmd as Command, bound);
    const standIn = localStandIn(cmd as Command, bound);
    assert.equal(standIn !== undefined, copy !== undefined, caseLabel(cmd));
    if (standIn === undefined) continue;
    assert.equal(standIn, cmd);
    assert.deepStrictEqual(standIn, copy);
  }
});

test("msgpack slices - a long map makes a command wide down to the deepest depth looked into, not below it", () => {
  const longMap = (): Record<string, number> => Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`k${i}`, i]));
  // Proxy.Config is at depth 3 of the command: a map inside it is at depth 4, one more level down at 5.
  assert.equal(isWideCommand(proxyRegister(3, { Inner: longMap() }) as unknown as Command), true);
  assert.equal(isWideCommand(proxyRegister(3, { Inner: { Deeper: longMap() } }) as unknown as Command), false);
  assert.equal(isWideCommand(proxyRegister(3, { Inner: { few: 1 } }) as unknown as Command), false);
});

test("msgpack slices - an element larger than a batch is walked when it is an array, pausing inside it", () => {
  // A catalog dump's checks: one [node, rows] pair per node, one node with thousands of checks
  // (the largest registration the body cap admits). The pair was read by one msgpackr call,
  // through windows doubled and re-read until it fit: ~90 ms in one turn for 6,700 checks.
  const rows = Array.from({ length: 6_700 }, (_, i) => ({ CheckID: `check-${i}`, Name: `check ${i}`, Status: "passing", Output: "ok", Flags: BigInt(i) << 40n, Body: Buffer.from([i & 255]) }));
  const doc = { Catalog: { checks: [["small", rows.slice(0, 2)], ["big", rows], ["after", [{ x: -0 }]]], index: 9 }, Big: "y".repeat(100_000), Tail: [Array.from({ length: 40_000 }, (_, i) => i)] };
  const bytes = packr.pack(doc);
  const { value, pauses } = runCounted(unpackSlices(packr, bytes, 2));
  assert.deepEqual(value, packr.unpack(bytes));
  // ~1 MB of rows in batches of ~32 KiB: dozens of pauses inside the one pair.
  assert.ok(pauses >= 20, `${pauses} pauses`);
});

test("msgpack slices - an array larger than a batch below the walk depth is walked too, pausing inside it", () => {
  // A config entry's intention sources (an ACL role's identities alike) lie at depth 2 of their
  // command, below the commands' walk depth of 1: every server read all 12,000 in one call.
  const sources = Array.from({ length: 12_000 }, (_, i) => ({ Name: `src-${i}`, Action: "allow", Precedence: 9, Type: "consul" }));
  const cmd = { Type: "config-entry-set", Op: "upsert", Entry: { Kind: "service-intentions", Name: "db", Sources: sources, Meta: { small: "x" } } };
  const bytes = packr.pack(cmd);
  const { value, pauses } = runCounted(unpackSlices(packr, bytes, 1));
  assert.deepEqual(value, packr.unpack(bytes));
  // ~700 KB of sources in batches of ~32 KiB. Before: 0 pauses (one call for the whole list).
  assert.ok(pauses >= 15, `${pauses} pauses`);
  // A small value below the walk depth is still one read: no pauses for a small command.
  const small = packr.pack({ Type: "config-entry-set", Entry: { Kind: "service-intentions", Sources: sources.slice(0, 10) } });
  const smallReading = unpackSlices(packr, small, 1);
  let smallPauses = 0;
  for (let s = smallReading.next(); s.done !== true; s = smallReading.next()) smallPauses++;
  assert.equal(smallPauses, 0);
});

test("msgpack slices - a long array one level below the walk depth makes a command wide and is written in batches", () => {
  const sources = Array.from({ length: 3000 }, (_, i) => ({ Name: `src-${i}`, Action: "allow", Precedence: 9 }));
  const cmd = { Type: "config-entry-set", Op: "upsert", Entry: { Kind: "service-intentions", Name: "db", Sources: sources } } as unknown as Command;
  // Before: 7 walked elements (Type, Op, Entry and Entry's 4 keys), not wide.
  assert.equal(isWideCommand(cmd), true);
  const { value, pauses } = runCounted(encodeCommandSlices(cmd));
  assert.equal(Buffer.compare(Buffer.from(value), Buffer.from(encodeCommand(cmd))), 0, "the very bytes of one pack()");
  assert.ok(pauses >= 3, `${pauses} pauses`);
  const few = { Type: "config-entry-set", Op: "upsert", Entry: { Kind: "service-intentions", Name: "db", Sources: sources.slice(0, 10) } } as unknown as Command;
  assert.equal(isWideCommand(few), false);
});

test("decodedCopy - a command holding byte strings is refused without scanning its entry's bytes", () => {
  const cmd: Command = { Type: "txn", NowMs: 1, Ops: Array.from({ length: 8 }, (_, i) => ({ Kind: "kv", Verb: "set", Key: `k${i}`, Value: Buffer.alloc(6000, i), Flags: 0n, Index: 0, Session: "" })) };
  const bytes = Buffer.from(encodeCommand(cmd));
  let scans = 0;
  // The scan for lone surrogates reads the whole entry: pointless when the walk gives up anyway.
  bytes.includes = () => {
    scans++;
    return false;
  };
  assert.equal(decodedCopy(cmd, bytes), undefined);
  assert.equal(scans, 0);
});

test("msgpack slices - a register whose Proxy.Config holds 10,000 keys is wide and encodes and decodes in steps", () => {
  const cmd = proxyRegister(10_000) as unknown as Command;
  assert.equal(isWideCommand(cmd), true);
  const whole = encodeCommand(cmd);
  // About 32 KiB per step: the ~300 KB of the config take at least 8 steps each way.
  assert.ok(runCounted(encodeCommandSlices(cmd)).pauses >= 8);
  assert.ok(runCounted(decodeCommandSlices(whole)).pauses >= 8);
  assert.deepEqual(runWhole(decodeCommandSlices(whole)), decodeCommand(whole));
});

test("msgpack slices - a prepared query's 50,000 Tags (depth 3) make it wide, and it encodes and decodes in steps", () => {
  const cmd = preparedQuery(50_000) as unknown as Command;
  // Before: 3 walked elements (Type, Query and Query's keys), not wide: one pack() of ~0.5 MB.
  assert.equal(isWideCommand(cmd), true);
  const whole = encodeCommand(cmd);
  const { value, pauses } = runCounted(encodeCommandSlices(cmd));
  assert.equal(Buffer.compare(Buffer.from(value), Buffer.from(whole)), 0, "the very bytes of one pack()");
  // About 32 KiB per step: the ~490 KB of tags take at least 8 steps each way.
  assert.ok(pauses >= 8, `${pauses} pauses`);
  assert.ok(runCounted(decodeCommandSlices(whole)).pauses >= 8);
  assert.deepEqual(runWhole(decodeCommandSlices(whole)), decodeCommand(whole));
  assert.equal(isWideCommand(preparedQuery(10) as unknown as Command), false);
});
