import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RotatingLogFile } from "../../../src/storage/log-file.ts";

void test("log file - a directory gets consul.log; size and age rotate it to consul-<nanos>.log; max files prunes the oldest", () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-logfile-"));
  let now = 1_000;
  const file = new RotatingLogFile({ path: `${dir}/logs/`, rotateBytes: 10, rotateDurationMs: 60_000, maxFiles: 2, nowMs: () => now });
  file.write("0123456789\n"); // reaches the limit
  now += 1;
  file.write("second\n"); // rotates first
  now += 1;
  file.write("third-line\n");
  now += 1;
  file.write("fourth\n");
  now += 60_000;
  file.write("aged\n"); // the size and the age both say rotate: once
  file.close();
  const names = readdirSync(join(dir, "logs")).sort();
  assert.equal(names.length, 3, names.join(","));
  assert.ok(names.includes("consul.log"));
  assert.ok(names.every((n) => n === "consul.log" || /^consul-\d+\.log$/.test(n)), names.join(","));
  assert.equal(readFileSync(join(dir, "logs", "consul.log"), "utf8"), "aged\n");
  const archives = names.filter((n) => n !== "consul.log");
  assert.deepEqual(archives, [`consul-${1_003n * 1_000_000n}.log`, `consul-${61_003n * 1_000_000n}.log`].sort());
});

void test("log file - a file name keeps its name and extension; -1 keeps no archives", () => {
  const dir = mkdtempSync(join(tmpdir(), "consulate-logfile-"));
  let now = 5;
  const file = new RotatingLogFile({ path: join(dir, "agent.txt"), rotateBytes: 1, rotateDurationMs: 0, maxFiles: -1, nowMs: () => now });
  file.write("a\n");
  now++;
  file.write("b\n");
  file.close();
  assert.deepEqual(readdirSync(dir), ["agent.txt"]);
  assert.equal(readFileSync(join(dir, "agent.txt"), "utf8"), "b\n");
});
