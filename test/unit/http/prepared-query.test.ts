import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// /v1/query against an in-process server: CRUD, validation texts, execute filters, templates,
// explain, sessions ending a query and snapshots keeping them.

let agent: TestAgent;
after(() => agent.stop());

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(agent.base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function ok(method: string, path: string, body?: unknown): Promise<unknown> {
  const a = await call(method, path, body);
  assert.equal(a.status, 200, `${method} ${path}: ${a.text}`);
  return a.text === "" ? undefined : (JSON.parse(a.text) as unknown);
}

async function instance(node: string, address: string, service: string, id: string, status: string, tags: string[] = [], meta: Record<string, string> = {}): Promise<void> {
  await ok("PUT", "/v1/catalog/register", {
    Node: node,
    Address: address,
    NodeMeta: { rack: node.endsWith("2") ? "r2" : "r1" },
    Service: { ID: id, Service: service, Tags: tags, Port: 8000, Meta: meta },
    Check: { CheckID: `chk-${id}`, Name: "c", ServiceID: id, Status: status },
  });
}

interface ExecuteAnswer {
  Service: string;
  Nodes: { Node: { Node: string }; Service: { ID: string } }[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
  Index: number;
}

const ids = (r: ExecuteAnswer): string[] => r.Nodes.map((n) => n.Service.ID).sort();

before(async () => {
  agent = await startTestAgent();
  await instance("pq-n1", "10.0.0.1", "db", "db-1", "passing", ["primary", "v1"], { env: "prod" });
  await instance("pq-n2", "10.0.0.2", "db", "db-2", "warning", ["v1"], { env: "prod" });
  await instance("pq-n3", "10.0.0.3", "db", "db-3", "critical", ["v1"]);
  await instance("pq-n1", "10.0.0.1", "db", "db-4", "passing", ["v2", "experimental"], { env: "dev" });
  await instance("pq-n2", "10.0.0.2", "geo-db-customer", "gdc-1", "passing", ["primary"]);
});

test("query - create, read, list, update and delete with Consul's shapes", async () => {
  const { ID } = (await ok("POST", "/v1/query", { Name: "crud", Service: { Service: "db", Tags: ["v1"] }, DNS: { TTL: "10s" } })) as { ID: string };
  assert.match(ID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const [q] = (await ok("GET", `/v1/query/${ID}`)) as Record<string, unknown>[];
  assert.deepEqual(Object.keys(q), ["ID", "Name", "Session", "Token", "Template", "Service", "DNS", "CreateIndex", "ModifyIndex"]);
  assert.deepEqual(q.Service, {
    Service: "db",
    SamenessGroup: "",
    Failover: { NearestN: 0, Datacenters: null, Targets: null },
    OnlyPassing: false,
    IgnoreCheckIDs: null,
    Near: "",
    Tags: ["v1"],
    NodeMeta: null,
    ServiceMeta: null,
    Connect: false,
    Peer: "",
  });
  assert.deepEqual(q.Template, { Type: "", Regexp: "", RemoveEmptyTags: false });
  const listed = (await ok("GET", "/v1/query")) as { ID: string }[];
  assert.ok(listed.some((l) => l.ID === ID));
  assert.equal(await ok("PUT", `/v1/query/${ID}`, { Name: "crud", Service: { Service: "db", OnlyPassing: true } }), undefined);
  const [after] = (await ok("GET", `/v1/query/${ID}`)) as { Service: { OnlyPassing: boolean }; CreateIndex: number; ModifyIndex: number }[];
  assert.equal(after.Service.OnlyPassing, true);
  assert.ok(after.ModifyIndex > after.CreateIndex);
  await ok("DELETE", `/v1/query/${ID}`);
  const gone = await call("GET", `/v1/query/${ID}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.text, "Query not found");
  const again = await call("DELETE", `/v1/query/${ID}`);
  assert.equal(again.status, 500);
  assert.equal(again.text, `Cannot modify non-existent prepared query: '${ID}'`);
});

test("query - validation answers with Consul's texts", async () => {
  const cases: [unknown, string][] = [
    [{ Name: "v1", Service: {} }, "Invalid prepared query: Must provide a Service name to query"],
    [{ Service: { Service: "db" } }, "Invalid prepared query: Must be bound to a session"],
    [{ Name: "v2", Service: { Service: "db", Failover: { NearestN: -1 } } }, "Invalid prepared query: Bad NearestN '-1', must be >= 0"],
    [{ Name: "v3", Service: { Service: "db" }, DNS: { TTL: "soon" } }, `Invalid prepared query: Bad DNS TTL 'soon': time: invalid duration "soon"`],
    [{ ID: "x", Name: "v4", Service: { Service: "db" } }, "ID must be empty when creating a new prepared query"],
    [{ Name: "v5", Service: { Service: "db" }, Session: "3cfdd1a9-4cc3-4a0b-bf62-b8d1e8fa6fa2" }, `invalid session "3cfdd1a9-4cc3-4a0b-bf62-b8d1e8fa6fa2"`],
    [{ Name: "v6", Template: { Type: "bogus" }, Service: { Service: "db" } }, "failed compiling template: Bad Template.Type 'bogus'"],
    [{ Name: "v7", Template: { Type: "name_prefix_match" }, Service: { Service: "${nope}" } }, "failed compiling template: Bad format '${nope}' in Service.Service: unknown variable accessed: nope"],
  ];
  for (const [body, text] of cases) {
    const a = await call("POST", "/v1/query", body);
    assert.equal(a.status, 500, JSON.stringify(body));
    assert.equal(a.text, text);
  }
  const dup1 = await call("POST", "/v1/query", { Name: "dup", Service: { Service: "db" } });
  assert.equal(dup1.status, 200);
  const dup2 = await call("POST", "/v1/query", { Name: "DUP", Service: { Service: "db" } });
  assert.equal(dup2.text, "name 'DUP' aliases an existing query name");
  const unknown = await call("POST", "/v1/query", { Name: "u", Service: { Service: "db", Bogus: 1 } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.text, 'Request decode failed: json: unknown field "Bogus"');
});

test("query - execute filters health, tags (with !tag), node and service meta", async () => {
  const run = async (service: Record<string, unknown>): Promise<ExecuteAnswer> => {
    const name = `exec-${Math.random().toString(36).slice(2)}`;
    await ok("POST", "/v1/query", { Name: name, Service: { Service: "db", ...service }, DNS: { TTL: "7s" } });
    return (await ok("GET", `/v1/query/${name}/execute`)) as ExecuteAnswer;
  };
  const all = await run({});
  assert.deepEqual(ids(all), ["db-1", "db-2", "db-4"]);
  assert.equal(all.Service, "db");
  assert.deepEqual(all.DNS, { TTL: "7s" });
  assert.equal(all.Datacenter, "dc1");
  assert.equal(all.Failovers, 0);
  assert.deepEqual(Object.keys(all).slice(0, 6), ["Service", "Nodes", "DNS", "Datacenter", "PeerName", "Failovers"]);
  assert.equal(typeof all.Index, "number");
  assert.deepEqual(ids(await run({ OnlyPassing: true })), ["db-1", "db-4"]);
  assert.deepEqual(ids(await run({ IgnoreCheckIDs: ["chk-db-3"] })), ["db-1", "db-2", "db-3", "db-4"]);
  assert.deepEqual(ids(await run({ Tags: ["V1", "!primary"] })), ["db-2"]);
  assert.deepEqual(ids(await run({ Tags: ["!experimental"] })), ["db-1", "db-2"]);
  assert.deepEqual(ids(await run({ NodeMeta: { rack: "r1" } })), ["db-1", "db-4"]);
  assert.deepEqual(ids(await run({ ServiceMeta: { env: "prod" } })), ["db-1", "db-2"]);
  const limited = await run({});
  assert.equal(limited.Nodes.length, 3);
  const [q] = ((await ok("GET", "/v1/query")) as { ID: string; Name: string }[]).filter((x) => x.Name === "dup");
  const byId = (await ok("GET", `/v1/query/${q.ID}/execute?limit=1`)) as ExecuteAnswer;
  assert.equal(byId.Nodes.length, 1);
  const missing = await call("GET", "/v1/query/no-such-query/execute");
  assert.equal(missing.status, 404);
  assert.equal(missing.text, "Query not found");
});

test("query - templates: prefix match, regexp groups, name parts, explain", async () => {
  await ok("POST", "/v1/query", {
    Name: "geo-db",
    Template: { Type: "name_prefix_match", Regexp: "^geo-db-(.*?)-([^\\-]+?)$", RemoveEmptyTags: true },
    Service: { Service: "${name.prefix}-${match(1)}", Tags: ["${match(2)}", "${match(9)}"], Near: "${name.suffix}" },
  });
  await ok("POST", "/v1/query", { Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full}", Tags: ["${match(1)}"] } });
  const catchAllAgain = await call("POST", "/v1/query", { Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "x" } });
  assert.equal(catchAllAgain.text, "a query template with an empty name already exists");
  const r = (await ok("GET", "/v1/query/geo-db-customer-primary/execute")) as ExecuteAnswer;
  assert.equal(r.Service, "geo-db-customer");
  assert.deepEqual(ids(r), ["gdc-1"]);
  const { Query } = (await ok("GET", "/v1/query/geo-db-customer-primary/explain")) as { Query: { Service: { Service: string; Tags: string[]; Near: string } } };
  assert.equal(Query.Service.Service, "geo-db-customer");
  // ${match(9)} is out of range: "", dropped by RemoveEmptyTags.
  assert.deepEqual(Query.Service.Tags, ["primary"]);
  assert.equal(Query.Service.Near, "-customer-primary");
  // The catch-all renders any other name; without RemoveEmptyTags the empty match stays.
  const caught = (await ok("GET", "/v1/query/db/explain")) as { Query: { Service: { Service: string; Tags: string[] } } };
  assert.equal(caught.Query.Service.Service, "db");
  assert.deepEqual(caught.Query.Service.Tags, [""]);
  const [tmpl] = ((await ok("GET", "/v1/query")) as { ID: string; Name: string }[]).filter((x) => x.Name === "geo-db");
  const byId = await call("GET", `/v1/query/${tmpl.ID}/execute`);
  assert.equal(byId.status, 500);
  assert.equal(byId.text, "prepared query templates can only be resolved up by name, not by ID");
});

test("query - destroying its session deletes the query", async () => {
  const { ID: session } = (await ok("PUT", "/v1/session/create", { Name: "pq", Checks: [] })) as { ID: string };
  const { ID } = (await ok("POST", "/v1/query", { Session: session, Service: { Service: "db" } })) as { ID: string };
  assert.equal(((await ok("GET", `/v1/query/${ID}`)) as unknown[]).length, 1);
  await ok("PUT", `/v1/session/destroy/${session}`);
  assert.equal((await call("GET", `/v1/query/${ID}`)).status, 404);
});

test("query - ?near sorts by coordinates and puts the source node first", async () => {
  const coord = (x: number): unknown => ({ Vec: [x, 0, 0, 0, 0, 0, 0, 0], Error: 0.2, Adjustment: 0, Height: 1e-5 });
  await ok("PUT", "/v1/coordinate/update", { Node: "pq-n1", Coord: coord(0) });
  await ok("PUT", "/v1/coordinate/update", { Node: "pq-n2", Coord: coord(0.01) });
  await ok("POST", "/v1/query", { Name: "near-q", Service: { Service: "db", OnlyPassing: false } });
  // Batched: wait until both coordinates are applied.
  for (let i = 0; i < 100; i++) {
    const nodes = (await ok("GET", "/v1/coordinate/nodes")) as unknown[];
    if (nodes.length >= 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 5; i++) {
    const fromN2 = (await ok("GET", "/v1/query/near-q/execute?near=pq-n2")) as ExecuteAnswer;
    assert.deepEqual(fromN2.Nodes.map((n) => n.Node.Node), ["pq-n2", "pq-n1", "pq-n1"]);
  }
});

test("query - execute answers are encoded as the whole object would be, compact and pretty", async () => {
  await ok("POST", "/v1/query", { Name: "enc-q", Service: { Service: "db" } });
  for (const suffix of ["", "?pretty"]) {
    const a = await call("GET", `/v1/query/enc-q/execute${suffix}`);
    assert.equal(a.status, 200);
    const parsed = JSON.parse(a.text) as ExecuteAnswer;
    assert.equal(parsed.Nodes.length, 3);
    const expected = suffix === "" ? JSON.stringify(parsed) : `${JSON.stringify(parsed, null, 4)}\n`;
    assert.equal(a.text, expected);
  }
});
