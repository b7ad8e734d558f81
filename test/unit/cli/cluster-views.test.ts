import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startFakeConsul } from "./fake-consul.ts";
import type { FakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";

let consul: FakeConsul;
before(async () => {
  consul = await startFakeConsul();
});
after(async () => {
  await consul.close();
});

const member = (Name: string, Addr: string, role: string, Status: number, extra: Record<string, string> = {}) => ({
  Name,
  Addr,
  Port: 8301,
  Tags: { role, dc: "dc1", vsn: "2", build: "1.16.1:abcdef", ...extra },
  Status,
});

void test("members - servers first, consul's columns for community edition", async () => {
  consul.routes.set("GET /v1/agent/members", (req) => {
    assert.equal(req.query.get("segment"), "_all");
    return {
      body: [
        member("client-1", "10.0.0.2", "node", 1),
        member("server-1", "10.0.0.1", "consul", 1),
        member("odd", "10.0.0.3", "other", 4),
      ],
    };
  });
  const r = await runCli(["members"], { address: consul.address });
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    [
      "Node      Address        Status  Type     Build   Protocol  DC   Partition  Segment",
      "server-1  10.0.0.1:8301  alive   server   1.16.1  2         dc1  default    <all>",
      "client-1  10.0.0.2:8301  alive   client   1.16.1  2         dc1  default    <default>",
      "odd       10.0.0.3:8301  failed  unknown                                    ",
      "",
    ].join("\n"),
  );
});

void test("members -status - regexp filter; nothing matched exits 2 with no output", async () => {
  consul.routes.set("GET /v1/agent/members", () => ({ body: [member("s", "127.0.0.1", "consul", 1)] }));
  const none = await runCli(["members", "-status=failed"], { address: consul.address });
  assert.deepEqual(none, { code: 2, out: "", err: "" });
  const some = await runCli(["members", "-status=ali"], { address: consul.address });
  assert.equal(some.code, 0);
});

void test("members -detailed - tags sorted by key, comma-joined", async () => {
  consul.routes.set("GET /v1/agent/members", () => ({ body: [member("s", "::1", "consul", 1)] }));
  const r = await runCli(["members", "-detailed"], { address: consul.address });
  assert.equal(
    r.out,
    "Node  Address     Status  Tags\ns     [::1]:8301  alive   ap=default,build=1.16.1:abcdef,dc=dc1,role=consul,segment=<all>,vsn=2\n",
  );
});

void test("members -wan - sends wan=1", async () => {
  consul.routes.set("GET /v1/agent/members", (req) => ({
    body: req.query.get("wan") === "1" ? [member("s.dc1", "127.0.0.1", "consul", 1)] : [],
  }));
  const r = await runCli(["members", "-wan"], { address: consul.address });
  assert.match(r.out, /^s\.dc1 /m);
});

void test("catalog datacenters - one per line", async () => {
  consul.routes.set("GET /v1/catalog/datacenters", () => ({ body: ["dc1", "dc2"] }));
  assert.deepEqual(await runCli(["catalog", "datacenters"], { address: consul.address }), {
    code: 0,
    out: "dc1\ndc2\n",
    err: "",
  });
});

const node = {
  Node: "n1",
  ID: "7c1a0e2f-1111-2222-3333-444455556666",
  Address: "10.0.0.1",
  Datacenter: "dc1",
  TaggedAddresses: { wan: "1.2.3.4", lan: "10.0.0.1" },
  Meta: { zone: "a", "consul-network-segment": "" },
};

void test("catalog nodes - short ID column; -detailed adds tagged addresses and meta", async () => {
  consul.routes.set("GET /v1/catalog/nodes", () => ({ body: [node] }));
  const r = await runCli(["catalog", "nodes"], { address: consul.address });
  assert.equal(r.out, "Node  ID        Address   DC\nn1    7c1a0e2f  10.0.0.1  dc1\n");
  const d = await runCli(["catalog", "nodes", "-detailed"], { address: consul.address });
  assert.equal(
    d.out,
    "Node  ID                                    Address   DC   TaggedAddresses            Meta\n" +
      "n1    7c1a0e2f-1111-2222-3333-444455556666  10.0.0.1  dc1  lan=10.0.0.1, wan=1.2.3.4  consul-network-segment=, zone=a\n",
  );
});

void test("catalog nodes - -service, -near and -node-meta reach the API", async () => {
  consul.routes.set("GET /v1/catalog/service/web", (req) => {
    assert.equal(req.query.get("near"), "_agent");
    assert.deepEqual(req.query.getAll("node-meta"), ["zone:a"]);
    return { body: [{ ...node, Meta: undefined, NodeMeta: { zone: "a" }, ServiceName: "web" }] };
  });
  const r = await runCli(["catalog", "nodes", "-service=web", "-near=_agent", "-node-meta", "zone=a"], {
    address: consul.address,
  });
  assert.equal(r.code, 0);
  assert.match(r.out, /^n1 {4}7c1a0e2f/m);
});

void test("catalog nodes - no match prints the hint on stderr and exits 0", async () => {
  consul.routes.set("GET /v1/catalog/nodes", () => ({ body: [] }));
  const r = await runCli(["catalog", "nodes"], { address: consul.address });
  assert.deepEqual(r, { code: 0, out: "", err: "No nodes match the given query - try expanding your search.\n" });
});

void test("catalog services - sorted names; -tags adds a sorted tag column", async () => {
  consul.routes.set("GET /v1/catalog/services", () => ({ body: { web: ["v2", "v1"], consul: [], db: ["primary"] } }));
  const r = await runCli(["catalog", "services"], { address: consul.address });
  assert.equal(r.out, "consul\ndb\nweb\n");
  const t = await runCli(["catalog", "services", "-tags"], { address: consul.address });
  assert.equal(t.out, "consul\ndb          primary\nweb         v1,v2\n".replace("consul\n", "consul      \n"));
});

void test("catalog services -node - services of one node", async () => {
  consul.routes.set("GET /v1/catalog/node/n1", () => ({
    body: { Node: node, Services: { "web-1": { Service: "web", Tags: ["a"] }, "web-2": { Service: "web", Tags: ["b"] } } },
  }));
  const r = await runCli(["catalog", "services", "-node=n1", "-tags"], { address: consul.address });
  assert.equal(r.out, "web      a,b\n");
});
