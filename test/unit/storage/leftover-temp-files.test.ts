import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeLeftoverTempFiles } from "../../../src/storage/leftover-temp-files.ts";

test("files left by interrupted atomic writes (*.tmp) are removed at start; everything else stays", async () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-tmpfiles-"));
  mkdirSync(join(dir, "services"));
  mkdirSync(join(dir, "raft", "snapshots"), { recursive: true });
  const leftovers = [join(dir, "services", "abc.tmp"), join(dir, "raft", "hardstate.tmp"), join(dir, "raft", "snapshots", "x.snap.tmp")];
  const kept = [join(dir, "services", "abc"), join(dir, "raft", "hardstate"), join(dir, "node-id"), join(dir, "raft", "snapshots", "x.snap")];
  for (const p of [...leftovers, ...kept]) writeFileSync(p, "");
  const removed = await removeLeftoverTempFiles(dir);
  assert.deepEqual(removed.sort(), [...leftovers].sort());
  for (const p of leftovers) assert.equal(existsSync(p), false, p);
  for (const p of kept) assert.equal(existsSync(p), true, p);
});
