import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startFakeConsul } from "./fake-consul.ts";
import type { FakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";
import { compileWatchPlan, eventIdToIndex, formatWatchOutput } from "../../../src/cli/watch.ts";
import { encodeSemaphoreLock, joinKeyPath } from "../../../src/cli/lock-client.ts";

let fake: FakeConsul;
before(async () => {
  fake = await startFakeConsul({
    "GET /v1/agent/self": { body: { Config: { NodeName: "n1" } } },
    "PUT /v1/event/fire/deploy": (req) => ({
      body: {
        ID: "b54fe110-7af5-cafc-d1fb-afc8ba432b1c",
        Name: "deploy",
        Payload: req.body.length > 0 ? req.body.toString("base64") : null,
        NodeFilter: req.query.get("node") ?? "",
        ServiceFilter: req.query.get("service") ?? "",
        TagFilter: req.query.get("tag") ?? "",
        Version: 1,
        LTime: 0,
      },
    }),
  });
});
after(async () => {
  await fake.close();
});

void test("event - fires with filters and payload and prints the event ID", async () => {
  const r = await runCli(["event", "-name=deploy", "-node=web.*", "-service=api", "-tag=v1", "payload"], { address: fake.address });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "Event ID: b54fe110-7af5-cafc-d1fb-afc8ba432b1c\n");
  const fire = fake.requests.find((q) => q.path === "/v1/event/fire/deploy");
  assert.ok(fire);
  assert.equal(fire.method, "PUT");
  assert.equal(fire.query.get("node"), "web.*");
  assert.equal(fire.query.get("service"), "api");
  assert.equal(fire.query.get("tag"), "v1");
  assert.equal(fire.body.toString(), "payload");
});

void test("event - name is required, tag needs service, one payload at most", async () => {
  const missing = await runCli(["event"], { address: fake.address });
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^Event name must be specified\n\nUsage: consulate event/);
  const tag = await runCli(["event", "-name=x", "-tag=v1"], { address: fake.address });
  assert.equal(tag.code, 1);
  assert.equal(tag.err, "Cannot provide tag filter without service filter.\n");
  const many = await runCli(["event", "-name=x", "a", "b"], { address: fake.address });
  assert.equal(many.code, 1);
  assert.match(many.err, /^Too many command line arguments\.\n/);
  const badRegexp = await runCli(["event", "-name=x", "-node=("], { address: fake.address });
  assert.equal(badRegexp.code, 1);
  assert.match(badRegexp.err, /^Failed to compile node filter regexp: error parsing regexp: /);
});

void test("watch - parameter validation uses consul's messages", async () => {
  const noType = await runCli(["watch"], { address: fake.address });
  assert.equal(noType.code, 1);
  assert.match(noType.err, /^Watch type must be specified\n\nUsage: consulate watch/);
  assert.throws(() => compileWatchPlan({ type: "key" }), { message: "Must specify a single key to watch" });
  assert.throws(() => compileWatchPlan({ type: "keyprefix" }), { message: "Must specify a single prefix to watch" });
  assert.throws(() => compileWatchPlan({ type: "service" }), { message: "Must specify a single service to watch" });
  assert.throws(() => compileWatchPlan({ type: "checks", service: "a", state: "passing" }), { message: "Cannot specify service and state" });
  assert.throws(() => compileWatchPlan({ type: "nope" }), { message: "Unsupported watch type: nope" });
  assert.throws(() => compileWatchPlan({ type: "services", key: "k", name: "n" }), { message: "Invalid parameters: [key name]" });
  assert.throws(() => compileWatchPlan({ type: "event", stale: true }), { message: "Invalid parameters: [stale]" });
  const badBool = await runCli(["watch", "-type=service", "-service=web", "-passingonly=maybe"], { address: fake.address });
  assert.equal(badBool.code, 1);
  assert.equal(badBool.err, 'Failed to parse passingonly flag: strconv.ParseBool: parsing "maybe": invalid syntax\n');
});

void test("watch - without a handler prints the current value as indented JSON once and exits 0", async () => {
  fake.routes.set("GET /v1/kv/cfg/a", () => ({
    body: '[{"LockIndex":0,"Key":"cfg/a","Flags":16210313421097356768,"Value":"PGI+","CreateIndex":3,"ModifyIndex":4}]',
  }));
  const r = await runCli(["watch", "-type=key", "-key=cfg/a"], { address: fake.address });
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    [
      "{",
      '    "Key": "cfg/a",',
      '    "CreateIndex": 3,',
      '    "ModifyIndex": 4,',
      '    "LockIndex": 0,',
      '    "Flags": 16210313421097356768,',
      '    "Value": "PGI+",',
      '    "Session": ""',
      "}",
      "",
    ].join("\n"),
  );
});

void test("watch - a missing key prints null", async () => {
  const r = await runCli(["watch", "-type=key", "-key=absent"], { address: fake.address });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "null\n");
});

void test("watch - handler gets the JSON on stdin and CONSUL_INDEX; a failing handler ends the watch with 1", async () => {
  fake.routes.set("GET /v1/catalog/services", () => ({ body: { consul: [], web: ["<v1>"] } }));
  const r = await runCli(["watch", "-type=services", 'printf "%s|" "$CONSUL_INDEX"; cat; exit 3'], { address: fake.address });
  assert.equal(r.code, 1);
  assert.equal(r.out, '0|{"consul":[],"web":["\\u003cv1\\u003e"]}\n');
  assert.equal(r.err, "Error executing handler: exit status 3\n");
});

void test("watch - JSON output escapes like Go's encoder", () => {
  assert.equal(formatWatchOutput({ a: "<&>" }), '{\n    "a": "\\u003c\\u0026\\u003e"\n}');
  assert.equal(formatWatchOutput([]), "[]");
});

void test("event index - XOR of the two halves of the UUID, exact in 64 bits", () => {
  assert.equal(eventIdToIndex("b54fe110-7af5-cafc-d1fb-afc8ba432b1c"), 0xb54fe1107af5cafcn ^ 0xd1fbafc8ba432b1cn);
});

void test("lock - argument validation", async () => {
  const none = await runCli(["lock"], { address: fake.address });
  assert.equal(none.code, 1);
  assert.equal(none.err, "Key prefix and child command must be specified\n");
  const zero = await runCli(["lock", "-n=0", "p", "true"], { address: fake.address });
  assert.equal(zero.code, 1);
  assert.equal(zero.err, "Lock holder limit must be positive\n");
  const retry = await runCli(["lock", "-monitor-retry=-1", "p", "true"], { address: fake.address });
  assert.equal(retry.code, 1);
  assert.equal(retry.err, "Number for 'monitor-retry' must be >= 0\n");
});

void test("lock - a foreign key at <prefix>/.lock is reported as a conflict", async () => {
  fake.routes.set("PUT /v1/session/create", () => ({ body: { ID: "11111111-2222-3333-4444-555555555555" } }));
  fake.routes.set("PUT /v1/session/destroy/11111111-2222-3333-4444-555555555555", () => ({ body: true }));
  fake.routes.set("GET /v1/kv/busy/.lock", () => ({
    body: [{ Key: "busy/.lock", Flags: 0, Value: null, LockIndex: 0, CreateIndex: 1, ModifyIndex: 1 }],
  }));
  const r = await runCli(["lock", "busy", "true"], { address: fake.address });
  assert.equal(r.code, 1);
  assert.equal(r.err, "Lock acquisition failed: Existing key does not match lock use\n");
  const create = fake.requests.find((q) => q.path === "/v1/session/create");
  assert.deepEqual(JSON.parse(create?.body.toString() ?? "{}"), { Name: "Consul lock for 'true' at 'busy'", TTL: "15s" });
  assert.ok(fake.requests.some((q) => q.path === "/v1/session/destroy/11111111-2222-3333-4444-555555555555"));
});

void test("semaphore - the .lock document is Go's json.Marshal of {Limit, Holders}", () => {
  assert.equal(encodeSemaphoreLock({ Limit: 2, Holders: { b: true, a: true } }), '{"Limit":2,"Holders":{"a":true,"b":true}}');
  assert.equal(joinKeyPath("svc/", ".lock"), "svc/.lock");
  assert.equal(joinKeyPath("a//b/", "c"), "a/b/c");
});

void test("watch - agent_service watches one local service instance by -service_id, blocking on its ContentHash", async () => {
  assert.throws(() => compileWatchPlan({ type: "agent_service" }), { message: "Must specify a single service_id to watch" });
  const queries: string[] = [];
  fake.routes.set("GET /v1/agent/service/web-1", (req) => {
    queries.push(`${req.path}?${req.query.toString()}`);
    return { body: '{"ID":"web-1","Service":"web","Port":8080,"ContentHash":"a1b2c3d4e5f60718"}' };
  });
  const r = await runCli(["watch", "-type=agent_service", "-service_id=web-1"], { address: fake.address });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { ID: "web-1", Service: "web", Port: 8080, ContentHash: "a1b2c3d4e5f60718" });
  assert.equal(queries[0], "/v1/agent/service/web-1?");
  const plan = compileWatchPlan({ type: "agent_service", service_id: "web-1" });
  assert.equal(plan.type, "agent_service");
});
