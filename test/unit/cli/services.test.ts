import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeConsul } from "./fake-consul.ts";
import type { FakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";
import { apiFieldName } from "../../../src/cli/service-definition.ts";

let consul: FakeConsul;
let dir: string;
const registered: unknown[] = [];
const deregistered: string[] = [];
before(async () => {
  consul = await startFakeConsul({
    "PUT /v1/agent/service/register": (req) => {
      registered.push(JSON.parse(req.body.toString()));
      return { body: "" };
    },
  });
  dir = await mkdtemp(join(tmpdir(), "consulate-cli-svc-"));
});
after(async () => {
  await consul.close();
  await rm(dir, { recursive: true, force: true });
});

void test("services register - from flags, Go omitempty body, `Registered service:` line", async () => {
  registered.length = 0;
  const r = await runCli(
    ["services", "register", "-name=web", "-port=80", "-tag=a", "-tag", "b", "-meta", "k=v", "-tagged-address", "lan=10.0.0.1:80"],
    { address: consul.address },
  );
  assert.deepEqual(r, { code: 0, out: "Registered service: web\n", err: "" });
  assert.deepEqual(registered, [
    { Name: "web", Tags: ["a", "b"], Port: 80, TaggedAddresses: { lan: { Address: "10.0.0.1", Port: 80 } }, Meta: { k: "v" } },
  ]);
});

void test("services register - JSON file with snake_case keys becomes the API's PascalCase", async () => {
  registered.length = 0;
  const file = join(dir, "web.json");
  await writeFile(
    file,
    JSON.stringify({
      service: {
        name: "web",
        id: "web-1",
        port: 8080,
        enable_tag_override: true,
        meta: { some_key: "v" },
        check: { http: "http://localhost:8080/health", interval: "10s", tls_skip_verify: true },
      },
    }),
  );
  const r = await runCli(["services", "register", file], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "Registered service: web\n", err: "" });
  assert.deepEqual(registered, [
    {
      Name: "web",
      ID: "web-1",
      Port: 8080,
      EnableTagOverride: true,
      Meta: { some_key: "v" },
      Check: { HTTP: "http://localhost:8080/health", Interval: "10s", TLSSkipVerify: true },
    },
  ]);
});

void test("services register - HCL file with several service blocks", async () => {
  registered.length = 0;
  const file = join(dir, "svcs.hcl");
  await writeFile(
    file,
    `service {
  name = "api"
  tags = ["v1"]
  check {
    ttl = "30s"
  }
}
service {
  name = "db"
  checks = [{ tcp = "localhost:5432", interval = "5s" }]
}
`,
  );
  const r = await runCli(["services", "register", file], { address: consul.address });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "Registered service: api\nRegistered service: db\n");
  assert.deepEqual(registered, [
    { Name: "api", Tags: ["v1"], Check: { TTL: "30s" } },
    { Name: "db", Checks: [{ TCP: "localhost:5432", Interval: "5s" }] },
  ]);
});

void test("services register - needs a file or -name, not both", async () => {
  const none = await runCli(["services", "register"], { address: consul.address });
  assert.deepEqual(none, { code: 1, out: "", err: "Service registration requires at least one argument or flags.\n" });
  const both = await runCli(["services", "register", "-name=x", "f.json"], { address: consul.address });
  assert.equal(both.err, "Service registration requires arguments or -id, not both.\n");
});

void test("services deregister - by -id and by file (ID, else Name)", async () => {
  consul.routes.set("PUT /v1/agent/service/deregister/web-1", () => {
    deregistered.push("web-1");
    return { body: "" };
  });
  consul.routes.set("PUT /v1/agent/service/deregister/api", () => {
    deregistered.push("api");
    return { body: "" };
  });
  const byId = await runCli(["services", "deregister", "-id=web-1"], { address: consul.address });
  assert.deepEqual(byId, { code: 0, out: "Deregistered service: web-1\n", err: "" });
  const file = join(dir, "api.json");
  await writeFile(file, JSON.stringify({ Service: { Name: "api" } }));
  const byFile = await runCli(["services", "deregister", file], { address: consul.address });
  assert.equal(byFile.out, "Deregistered service: api\n");
  assert.deepEqual(deregistered, ["web-1", "api"]);
  const missing = await runCli(["services", "deregister", "-id=ghost"], { address: consul.address });
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'Error deregistering service "": Unexpected response code: 404 ()\n');
});

void test("services - config keys map to API field names", () => {
  assert.equal(apiFieldName("deregister_critical_service_after"), "DeregisterCriticalServiceAfter");
  assert.equal(apiFieldName("grpc_use_tls"), "GRPCUseTLS");
  assert.equal(apiFieldName("service_id"), "ServiceID");
  assert.equal(apiFieldName("Name"), "Name");
  assert.equal(apiFieldName("ttl"), "TTL");
  assert.equal(apiFieldName("args"), "ScriptArgs");
});

void test("services register - a missing definition file is reported with Consul's wording", async () => {
  const missing = join(dir, "nope.json");
  const r = await runCli(["services", "register", missing], { address: consul.address });
  assert.deepEqual(r, { code: 1, out: "", err: `Error: config: Open failed on ${missing}. open ${missing}: no such file or directory\n` });
});
