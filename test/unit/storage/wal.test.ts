import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../../../src/raft/messages.ts";
import { EntryType } from "../../../src/raft/messages.ts";
import { DiskErrorCode, isDiskStorageError } from "../../../src/storage/storage-errors.ts";
import { WriteAheadLog } from "../../../src/storage/wal.ts";
import { encodeRecordChunks, encodeRecords, precomputeRecordChecksums, scanRecords } from "../../../src/storage/wal-record.ts";
import { crc32 } from "node:zlib";
import { pack } from "msgpackr";
import { nodeFileSystem } from "../../../src/storage/file-system.ts";
import { MemoryFileSystem } from "./memory-file-system.ts";

const DIR = "/data/wal";

function entries(from: number, to: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: EntryType.Normal, data: new TextEncoder().encode(`entry-${i}`) });
  return out;
}

const indexes = (es: readonly Entry[]): number[] => es.map((e) => e.index);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("wal - appended entries and the commit index survive a reopen on the real disk", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-wal-"));
  try {
    const { wal } = await WriteAheadLog.open(nodeFileSystem, dir);
    await wal.append(entries(1, 5), { commit: 3 });
    await wal.append(entries(6, 8));
    await wal.close();
    const { wal: again, recovered } = await WriteAheadLog.open(nodeFileSystem, dir);
    assert.deepEqual(indexes(recovered.entries), range(1, 8));
    assert.equal(recovered.commit, 3);
    assert.equal(recovered.tornBytes, 0);
    assert.equal(new TextDecoder().decode(recovered.entries[7].data), "entry-8");
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("wal - a crash before fsync loses only the unacknowledged entries", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 10));
  await wal.append(entries(11, 20), { sync: false });
  fs.crash();
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), range(1, 10));
});

test("wal - a torn tail is detected and truncated on recovery, then appends continue", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 10));
  await wal.append(entries(11, 20), { sync: false });
  fs.crash({ keepUnsyncedBytes: 37 });
  const { wal: reopened, recovered } = await WriteAheadLog.open(fs, DIR);
  assert.ok(recovered.tornBytes > 0, "a partial record was cut off");
  const kept = indexes(recovered.entries);
  assert.deepEqual(kept, range(1, kept[kept.length - 1]));
  assert.ok(kept.length >= 10 && kept.length < 20);
  await reopened.append(entries(kept.length + 1, 25));
  const { recovered: after } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(after.entries), range(1, 25));
  assert.equal(after.tornBytes, 0);
});

test("wal - a zero-filled tail reads as torn, not as empty records", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 3));
  const [segment] = await fs.list(DIR);
  const path = `${DIR}/${segment}`;
  const { file, size } = await fs.openWritable(path, { truncate: false });
  await file.writeAt([new Uint8Array(64)], size);
  await file.sync();
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), [1, 2, 3]);
  assert.equal(recovered.tornBytes, 64);
});

test("wal - corruption in the middle of the newest segment is refused with a typed error", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 10));
  const [segment] = await fs.list(DIR);
  fs.corrupt(`${DIR}/${segment}`, 40);
  await assert.rejects(WriteAheadLog.open(fs, DIR), (err: unknown) => {
    assert.ok(isDiskStorageError(err, DiskErrorCode.WalCorrupt));
    assert.match(err.message, /valid records follow/);
    assert.equal(err.file, `${DIR}/${segment}`);
    return true;
  });
});

test("wal - corruption in an older segment is refused even at its end", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR, { segmentBytes: 100 });
  for (let i = 1; i <= 12; i += 3) await wal.append(entries(i, i + 2));
  assert.ok(wal.segmentCount > 1);
  const [oldest] = (await fs.list(DIR)).sort();
  fs.corrupt(`${DIR}/${oldest}`, fs.size(`${DIR}/${oldest}`) - 1);
  await assert.rejects(WriteAheadLog.open(fs, DIR), (err: unknown) => isDiskStorageError(err, DiskErrorCode.WalCorrupt) && /not the newest segment/.test(err.message));
});

test("wal - group commit: 100 concurrent appends share a handful of fsyncs", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  const before = fs.fsyncs;
  await Promise.all(range(1, 100).map((i) => wal.append(entries(i, i))));
  const used = fs.fsyncs - before;
  assert.ok(used <= 2, `expected at most 2 fsyncs, got ${used}`);
  assert.equal(wal.stats.appendCalls, 100);
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), range(1, 100));
});

test("wal - truncateFrom removes a conflicting suffix across segments durably", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR, { segmentBytes: 100 });
  for (let i = 1; i <= 30; i += 3) await wal.append(entries(i, i + 2));
  const segmentsBefore = wal.segmentCount;
  await wal.truncateFrom(5);
  assert.ok(wal.segmentCount < segmentsBefore);
  assert.equal(wal.lastIndex, 4);
  await wal.append(entries(5, 7, 2));
  fs.crash();
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), range(1, 7));
  assert.deepEqual(
    recovered.entries.map((e) => e.term),
    [1, 1, 1, 1, 2, 2, 2],
  );
});

test("wal - compactTo deletes only segments wholly covered by the snapshot", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR, { segmentBytes: 100 });
  for (let i = 1; i <= 30; i += 3) await wal.append(entries(i, i + 2));
  await wal.compactTo(10);
  assert.ok(wal.firstIndex > 1 && wal.firstIndex <= 11, `first index ${wal.firstIndex}`);
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.equal(recovered.entries[0].index, wal.firstIndex);
  assert.equal(recovered.entries[recovered.entries.length - 1].index, 30);
});

test("wal - reset empties the log so it continues after a snapshot", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 10));
  await wal.reset(101);
  await wal.append(entries(101, 102));
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(indexes(recovered.entries), [101, 102]);
});

test("wal - after a failed fsync every later write is refused (the file state is unknown)", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 1));
  fs.failNextSync = true;
  await assert.rejects(wal.append(entries(2, 2)), /EIO/);
  await assert.rejects(wal.append(entries(3, 3)), (err: unknown) => isDiskStorageError(err, DiskErrorCode.Closed));
});

test("wal - appending with a gap is a programmer error", async () => {
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(entries(1, 2));
  await assert.rejects(wal.append(entries(4, 4)), /gap/);
});

test("wal - records of the first (msgpack) format still decode, beside binary ones", () => {
  const e: Entry = { term: 4, index: 9, type: EntryType.ConfChange, data: new Uint8Array([1, 2]) };
  // The first format: [u32le length][u32le crc32][msgpack [1, term, index, type code, data]].
  const body = pack([1, e.term, e.index, 1, e.data]);
  const legacy = Buffer.alloc(8 + body.byteLength);
  legacy.writeUInt32LE(body.byteLength, 0);
  legacy.writeUInt32LE(crc32(body), 4);
  body.copy(legacy, 8);
  const current = encodeRecords([{ ...e, index: 10 }], 10).bytes;
  const bytes = new Uint8Array(Buffer.concat([legacy, current]));
  const scan = scanRecords(bytes);
  assert.equal(scan.badOffset, undefined);
  assert.deepEqual(
    scan.records.map((r) => r.record),
    [
      { kind: "entry", entry: e },
      { kind: "entry", entry: { ...e, index: 10 } },
      { kind: "commit", commit: 10 },
    ],
  );
});

test("wal - a large entry is written from its own bytes, between small ones, with the checksum computed whole or ahead in steps alike", async () => {
  const big = new Uint8Array(3 * 1024 * 1024 + 5);
  for (let i = 0; i < big.byteLength; i += 997) big[i] = i & 0xff;
  const batch: Entry[] = [...entries(1, 2), { term: 1, index: 3, type: EntryType.Normal, data: big }, ...entries(4, 5)];
  const whole = encodeRecords(batch, 5).bytes;
  // What a single buffer held before: the same records, byte for byte.
  const ahead = batch.map((e) => ({ ...e }));
  const steps = precomputeRecordChecksums(ahead);
  let yields = 0;
  while (steps.next().done !== true) yields++;
  assert.ok(yields >= 3, `checksummed in ${yields} steps`);
  const pieces = encodeRecordChunks(ahead, 5);
  assert.ok(pieces.chunks.includes(ahead[2].data), "the large entry's data is a chunk of its own, not a copy");
  assert.deepEqual(Buffer.concat(pieces.chunks), Buffer.from(whole));
  const scan = scanRecords(whole);
  assert.equal(scan.badOffset, undefined);
  assert.deepEqual(
    scan.records.map((r) => r.record),
    [...batch.map((entry) => ({ kind: "entry", entry })), { kind: "commit", commit: 5 }],
  );
  const fs = new MemoryFileSystem();
  const { wal } = await WriteAheadLog.open(fs, DIR);
  await wal.append(ahead, { commit: 5 });
  await wal.close();
  const { recovered } = await WriteAheadLog.open(fs, DIR);
  assert.deepEqual(recovered.entries, batch);
});
