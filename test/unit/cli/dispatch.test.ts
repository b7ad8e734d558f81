import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./run-cli.ts";
import { captureIO } from "./fake-consul.ts";
import { makeValidateCommand } from "../../../src/cli/validate.ts";

void test("cli - no command prints the command list and exits 127", async () => {
  const r = await runCli([]);
  assert.equal(r.code, 127);
  assert.match(r.out, /^Usage: consulate \[--version\] \[--help\] <command> \[<args>\]\n\nAvailable commands are:\n/);
  assert.match(r.out, /^ {4}members {8}Lists the members of a Consul cluster$/m);
});

void test("cli - unknown command exits 127; --help alone exits 0", async () => {
  assert.equal((await runCli(["bogus"])).code, 127);
  assert.equal((await runCli(["--help"])).code, 0);
});

void test("cli - -h anywhere shows the command's help and exits 0", async () => {
  const r = await runCli(["kv", "put", "somekey", "-h"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^Usage: consulate kv put \[options\] KEY \[DATA\]/);
  assert.match(r.out, /\nHTTP API Options\n\n {2}-ca-file=<value>\n/);
  assert.match(r.out, /\nCommand Options\n\n {2}-acquire\n/);
});

void test("cli - a group without a subcommand prints its help and subcommands, exit 1", async () => {
  const r = await runCli(["catalog"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /\nSubcommands:\n {4}datacenters {4}Lists all known datacenters\n/);
});

void test("cli - unknown flag prints Go's error and usage, exit 1", async () => {
  const r = await runCli(["members", "-bogus"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /^flag provided but not defined: -bogus\nUsage: consulate members/);
});

void test("cli - flags before the subcommand are rejected", async () => {
  const r = await runCli(["-detailed", "members"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^Invalid flags before the subcommand/);
});

void test("version - -v, --version and `version` print Consul's four lines, then one naming Consulate", async () => {
  const expected =
    "Consul v1.20.0\nRevision consulate-0.1.0\nBuild Date 2026-11-25T00:00:00Z\n" +
    "Protocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n" +
    "Consulate v0.1.0 (a Consul-compatible agent in TypeScript)\n\n";
  for (const argv of [["version"], ["-v"], ["--version"]]) {
    assert.deepEqual(await runCli(argv), { code: 0, out: expected, err: "" });
  }
  const json = JSON.parse((await runCli(["version", "-format=json"])).out) as Record<string, unknown>;
  assert.deepEqual(json.RPC, { Default: 2, Min: 2, Max: 3 });
  assert.equal(json.Version, "1.20.0");
});

void test("validate - success line, -quiet, and validation errors exit 1", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-cli-validate-"));
  try {
    const file = join(dir, "a.json");
    await writeFile(file, "{}");
    const seen: string[][] = [];
    const ok = makeValidateCommand(async () => async (paths) => {
      seen.push(paths);
    });
    const io = captureIO();
    assert.equal(await ok([file], io), 0);
    assert.equal(io.out(), "Configuration is valid!\n");
    assert.deepEqual(seen, [[file]]);
    const quiet = captureIO();
    assert.equal(await ok(["-quiet", file], quiet), 0);
    assert.equal(quiet.out(), "");
    const none = captureIO();
    assert.equal(await ok([], none), 1);
    assert.equal(none.err(), "Must specify at least one config file or directory\n");
    const failing = makeValidateCommand(async () => async () => {
      throw new Error("data_dir: required");
    });
    const bad = captureIO();
    assert.equal(await failing([file], bad), 1);
    assert.equal(bad.err(), "Config validation failed: data_dir: required\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("keygen - prints a base64 32-byte key for -encrypt", async () => {
  const r = await runCli(["keygen"]);
  assert.equal(r.code, 0);
  assert.equal(Buffer.from(r.out.trim(), "base64").length, 32);
});
