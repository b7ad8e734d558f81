import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startDevAgent, type DevAgent } from "../../../src/mod.ts";
import { eventually } from "../../support/eventually.ts";
import { runCli } from "./run-cli.ts";

describe("consulate intention … and connect ca … against a dev agent", () => {
  let agent: DevAgent;
  let dir: string;
  const cli = (...argv: string[]) => runCli(argv, { address: agent.httpAddress.replace("http://", "") });

  before(async () => {
    agent = await startDevAgent({ dnsPort: -1 });
    dir = await mkdtemp(join(tmpdir(), "consulate-cli-connect-"));
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates, gets, lists, matches, checks and deletes intentions", async () => {
    assert.deepEqual(await cli("intention", "create", "-deny", "-meta", "owner=ops", "web", "db"), { code: 0, out: "Created: web => db (deny)\n", err: "" });
    assert.equal((await cli("intention", "create", "web", "db")).code, 1, "a duplicate needs -replace");
    assert.equal((await cli("intention", "create", "-replace", "-allow", "*", "db")).code, 0);
    const got = await cli("intention", "get", "web", "db");
    assert.equal(got.code, 0);
    assert.match(got.out, /^Source:\s+web\nDestination:\s+db\nAction:\s+deny\nID:\s+[0-9a-f-]{36}\nMeta\[owner\]:\s+ops\nCreated At:/);
    const list = await cli("intention", "list");
    assert.match(list.out, /^ID\s+Source\s+Action\s+Destination\s+Precedence\n[0-9a-f-]{36}\s+web\s+deny\s+db\s+9\n[0-9a-f-]{36}\s+\*\s+allow\s+db\s+8\n$/);
    assert.deepEqual(await cli("intention", "match", "db"), { code: 0, out: "web => db (deny)\n* => db (allow)\n", err: "" });
    assert.deepEqual(await cli("intention", "check", "web", "db"), { code: 2, out: "Denied\n", err: "" });
    assert.deepEqual(await cli("intention", "check", "api", "db"), { code: 0, out: "Allowed\n", err: "" });
    assert.deepEqual(await cli("intention", "delete", "web", "db"), { code: 0, out: "Intention deleted.\n", err: "" });
    assert.deepEqual(await cli("intention", "check", "web", "db"), { code: 0, out: "Allowed\n", err: "" });
  });

  it("reads and sets the CA configuration", async () => {
    await eventually("the CA to initialise", async () => (await cli("connect", "ca", "get-config")).code === 0);
    const got = await cli("connect", "ca", "get-config");
    const config = JSON.parse(got.out) as { Provider: string; Config: Record<string, unknown> };
    assert.equal(config.Provider, "consul");
    assert.match(got.out, /^\{\n\t"ClusterID"/);
    const file = join(dir, "ca.json");
    await writeFile(file, JSON.stringify({ Provider: "consul", Config: { LeafCertTTL: "48h" } }));
    assert.deepEqual(await cli("connect", "ca", "set-config", `-config-file=${file}`), { code: 0, out: "Configuration updated!\n", err: "" });
    assert.equal((JSON.parse((await cli("connect", "ca", "get-config")).out) as { Config: Record<string, unknown> }).Config.LeafCertTTL, "48h");
    await writeFile(file, JSON.stringify({ Provider: "consul", Config: { LeafCertTTL: "1m" } }));
    const bad = await cli("connect", "ca", "set-config", `-config-file=${file}`);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^Error setting CA configuration: Unexpected response code: 500 \(error parsing CA config: leaf cert TTL must be greater or equal than 1h0m0s\)/);
  });

  it("writes (HCL and JSON), reads, lists and deletes config entries", async () => {
    const hcl = join(dir, "db-intentions.hcl");
    await writeFile(hcl, 'Kind = "service-intentions"\nName = "db"\nSources = [\n  {\n    Name   = "web"\n    Action = "allow"\n  },\n  {\n    Name   = "*"\n    Action = "deny"\n  }\n]\n');
    assert.deepEqual(await cli("config", "write", hcl), { code: 0, out: "Config entry written: service-intentions/db\n", err: "" });
    const json = join(dir, "web-defaults.json");
    await writeFile(json, JSON.stringify({ Kind: "service-defaults", Name: "web", Protocol: "http" }));
    assert.deepEqual(await cli("config", "write", json), { code: 0, out: "Config entry written: service-defaults/web\n", err: "" });
    const read = await cli("config", "read", "-kind", "service-intentions", "-name", "db");
    const entry = JSON.parse(read.out) as { Sources: { Name: string; Precedence: number }[]; ModifyIndex: number };
    assert.deepEqual(entry.Sources.map((s) => [s.Name, s.Precedence]), [["web", 9], ["*", 8]]);
    assert.deepEqual(await cli("intention", "check", "api", "db"), { code: 2, out: "Denied\n", err: "" });
    assert.deepEqual(await cli("config", "list", "-kind", "service-defaults"), { code: 0, out: "web\n", err: "" });
    const stale = await cli("config", "delete", "-kind", "service-intentions", "-name", "db", "-cas", "-modify-index", String(entry.ModifyIndex - 1));
    assert.equal(stale.code, 1);
    assert.deepEqual(await cli("config", "delete", "-kind", "service-intentions", "-name", "db", "-cas", "-modify-index", String(entry.ModifyIndex)), { code: 0, out: "Config entry deleted: service-intentions/db\n", err: "" });
    const gone = await cli("config", "read", "-kind", "service-intentions", "-name", "db");
    assert.equal(gone.code, 1);
    assert.match(gone.err, /Config entry not found for "service-intentions" \/ "db"/);
  });
});
