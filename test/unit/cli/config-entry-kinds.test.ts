import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startDevAgent, type DevAgent } from "../../../src/mod.ts";
import { runCli } from "./run-cli.ts";

// `consulate config write|read|list|delete` with the discovery-chain and gateway kinds, in
// HCL (snake_case keys, blocks at the top level; nested blocks inside a list's objects are
// HCL1-only, which the HCL2 parser refuses, so they are written as `match = { … }`).
describe("consulate config … with chain and gateway kinds", () => {
  let agent: DevAgent;
  let dir: string;
  const cli = (...argv: string[]) => runCli(argv, { address: agent.httpAddress.replace("http://", "") });
  const file = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  before(async () => {
    agent = await startDevAgent({ dnsPort: -1 });
    dir = await mkdtemp(join(tmpdir(), "consulate-cli-config-kinds-"));
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes HCL resolver, router, ingress and mesh entries and reads them back", async () => {
    const entries: [string, string, string][] = [
      ["defaults.hcl", `Kind = "proxy-defaults"\nName = "global"\nConfig {\n  protocol = "http"\n}\n`, "proxy-defaults/global"],
      ["resolver.hcl", `kind = "service-resolver"\nname = "web"\nconnect_timeout = "15s"\nsubsets = {\n  "canary" = {\n    filter = "Service.Meta.flavor == canary"\n  }\n}\nfailover = {\n  "*" = {\n    datacenters = ["dc3", "dc4"]\n  }\n}\n`, "service-resolver/web"],
      ["router.hcl", `kind = "service-router"\nname = "web"\nroutes = [\n  {\n    match = {\n      http = {\n        path_prefix = "/admin"\n      }\n    }\n    destination = {\n      service = "admin"\n      prefix_rewrite = "/"\n    }\n  },\n]\n`, "service-router/web"],
      ["ingress.hcl", `Kind = "ingress-gateway"\nName = "ing"\nListeners = [\n  {\n    Port = 8080\n    Protocol = "http"\n    Services = [\n      { Name = "web" },\n    ]\n  }\n]\n`, "ingress-gateway/ing"],
      ["mesh.json", JSON.stringify({ Kind: "mesh", TransparentProxy: { MeshDestinationsOnly: true } }), "mesh/mesh"],
    ];
    for (const [name, text, id] of entries) {
      assert.deepEqual(await cli("config", "write", await file(name, text)), { code: 0, out: `Config entry written: ${id}\n`, err: "" }, name);
    }
    const resolver = JSON.parse((await cli("config", "read", "-kind", "service-resolver", "-name", "web")).out) as Record<string, unknown>;
    assert.deepEqual([resolver.ConnectTimeout, resolver.Subsets, resolver.Failover], ["15s", { canary: { Filter: "Service.Meta.flavor == canary" } }, { "*": { Datacenters: ["dc3", "dc4"] } }]);
    const router = JSON.parse((await cli("config", "read", "-kind", "service-router", "-name", "web")).out) as { Routes: unknown[] };
    assert.deepEqual(router.Routes, [{ Match: { HTTP: { PathPrefix: "/admin" } }, Destination: { Service: "admin", PrefixRewrite: "/" } }]);
    assert.deepEqual(await cli("config", "list", "-kind", "ingress-gateway"), { code: 0, out: "ing\n", err: "" });

    const bad = await cli("config", "write", await file("bad.hcl", `kind = "service-splitter"\nname = "web"\nsplits = [\n  { weight = 60 },\n  { weight = 30, service = "b" },\n]\n`));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /Unexpected response code: 400 \(Request decoding failed: the sum of all split weights must be 100, not 90\.000000\)/);

    assert.deepEqual(await cli("config", "delete", "-kind", "service-router", "-name", "web"), { code: 0, out: "Config entry deleted: service-router/web\n", err: "" });
    assert.deepEqual(await cli("config", "list", "-kind", "service-router"), { code: 0, out: "", err: "" });
  });
});
