import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startFakeConsul } from "./fake-consul.ts";
import type { FakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";

let consul: FakeConsul;
before(async () => {
  consul = await startFakeConsul({
    "GET /v1/agent/self": {
      body: {
        Config: { NodeName: "node-1" },
        Stats: {
          serf_lan: { members: "1", encrypted: "false" },
          agent: { services: "2", checks: "0" },
          build: { version: "0.1.0", prerelease: "" },
        },
      },
    },
    "PUT /v1/agent/leave": { body: "" },
    "PUT /v1/agent/reload": { body: "" },
    "PUT /v1/agent/maintenance": { body: "" },
    "PUT /v1/agent/service/maintenance/web": { body: "" },
  });
});
after(async () => {
  await consul.close();
});

void test("info - sorted sections with tab-indented `key = value` lines", async () => {
  const r = await runCli(["info"], { address: consul.address });
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    [
      "agent:",
      "\tchecks = 0",
      "\tservices = 2",
      "build:",
      "\tprerelease = ",
      "\tversion = 0.1.0",
      "serf_lan:",
      "\tencrypted = false",
      "\tmembers = 1",
      "",
    ].join("\n"),
  );
});

void test("leave - `Graceful leave complete`", async () => {
  assert.deepEqual(await runCli(["leave"], { address: consul.address }), {
    code: 0,
    out: "Graceful leave complete\n",
    err: "",
  });
});

void test("reload - `Configuration reload triggered`; errors as `Error reloading:`", async () => {
  assert.equal((await runCli(["reload"], { address: consul.address })).out, "Configuration reload triggered\n");
  consul.routes.set("PUT /v1/agent/reload", () => ({ status: 403, body: "Permission denied" }));
  const denied = await runCli(["reload"], { address: consul.address });
  assert.deepEqual(denied, {
    code: 1,
    out: "",
    err: "Error reloading: Unexpected response code: 403 (Permission denied)\n",
  });
});

void test("join - counts successes; all failing exits 1", async () => {
  consul.routes.set("PUT /v1/agent/join/10.0.0.1", () => ({ body: "" }));
  consul.routes.set("PUT /v1/agent/join/10.0.0.9", () => ({ status: 500, body: "no route" }));
  const r = await runCli(["join", "10.0.0.1", "10.0.0.9"], { address: consul.address });
  assert.equal(r.code, 0);
  assert.equal(r.out, "Successfully joined cluster by contacting 1 nodes.\n");
  assert.equal(r.err, "Error joining address '10.0.0.9': Unexpected response code: 500 (no route)\n");
  const none = await runCli(["join", "10.0.0.9"], { address: consul.address });
  assert.equal(none.code, 1);
  assert.match(none.err, /Failed to join any nodes\.\n$/);
});

void test("force-leave - -prune and -wan become query parameters, silent on success", async () => {
  consul.routes.set("PUT /v1/agent/force-leave/gone", (req) => {
    assert.equal(req.query.get("prune"), "1");
    assert.equal(req.query.get("wan"), "1");
    return { body: "" };
  });
  assert.deepEqual(await runCli(["force-leave", "-prune", "-wan", "gone"], { address: consul.address }), {
    code: 0,
    out: "",
    err: "",
  });
});

void test("maint - enable/disable node and service maintenance", async () => {
  const enable = await runCli(["maint", "-enable", "-reason=upgrade"], { address: consul.address });
  assert.equal(enable.out, "Node maintenance is now enabled\n");
  const nodeCall = consul.requests.filter((r) => r.path === "/v1/agent/maintenance").at(-1);
  assert.equal(nodeCall?.query.get("enable"), "true");
  assert.equal(nodeCall?.query.get("reason"), "upgrade");
  assert.equal((await runCli(["maint", "-disable"], { address: consul.address })).out, "Node maintenance is now disabled\n");
  assert.equal(
    (await runCli(["maint", "-enable", "-service=web"], { address: consul.address })).out,
    'Service maintenance is now enabled for "web"\n',
  );
  const conflicting = await runCli(["maint", "-enable", "-disable"], { address: consul.address });
  assert.deepEqual(conflicting, { code: 1, out: "", err: "Only one of -enable or -disable may be provided\n" });
});

void test("maint - list mode shows Node and Service blocks", async () => {
  consul.routes.set("GET /v1/agent/checks", () => ({
    body: {
      _node_maintenance: { CheckID: "_node_maintenance", Notes: "upgrade" },
      "_service_maintenance:web": { CheckID: "_service_maintenance:web", ServiceID: "web", Notes: "deploy" },
      other: { CheckID: "other", Notes: "" },
    },
  }));
  const r = await runCli(["maint"], { address: consul.address });
  assert.equal(
    r.out,
    "Node:\n  Name:   node-1\n  Reason: upgrade\n\nService:\n  ID:     web\n  Reason: deploy\n\n",
  );
});
