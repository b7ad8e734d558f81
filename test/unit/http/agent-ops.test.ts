import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

let agent: TestAgent;
before(async () => {
  agent = await startTestAgent();
});
after(() => agent.stop());

const call = (method: string, path: string, init: RequestInit = {}) => fetch(agent.base + path, { method, ...init });

async function getJson(path: string): Promise<Record<string, unknown>> {
  const res = await call("GET", path);
  assert.equal(res.status, 200, `${path} answers 200`);
  return (await res.json()) as Record<string, unknown>;
}

test("agent/self has no xDS section while no gRPC (xDS) server runs", async () => {
  const self = await getJson("/v1/agent/self");
  assert.equal("xDS" in self, false);
  const debug = self.DebugConfig as Record<string, unknown>;
  for (const p of ["GRPCPort", "GRPCTLSPort"]) assert.ok(!(((debug[p] as number | undefined) ?? -1) > 0), `DebugConfig.${p} is not advertised`);
  const tags = (self.Member as { Tags: Record<string, string> }).Tags;
  assert.equal(tags.grpc_port, undefined);
  assert.equal(tags.grpc_tls_port, undefined);
});

test("agent/self - Config carries exactly Consul's stable keys, NodeName and Datacenter as strings", async () => {
  const self = await getJson("/v1/agent/self");
  assert.deepEqual(Object.keys(self), ["Config", "DebugConfig", "Coord", "Member", "Stats", "Meta"]);
  const config = self.Config as Record<string, unknown>;
  assert.deepEqual(Object.keys(config), ["Datacenter", "PrimaryDatacenter", "NodeName", "NodeID", "Revision", "Server", "Version", "BuildDate"]);
  assert.equal(config.Datacenter, "dc1");
  assert.equal(config.PrimaryDatacenter, "dc1");
  assert.equal(config.NodeName, "test-node");
  assert.equal(config.NodeID, "11111111-2222-3333-4444-555555555555");
  assert.equal(config.Server, true);
  assert.equal(config.Version, "1.20.0");
  assert.match(String(config.BuildDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("agent/self - Coord is the agent's coordinate (origin of an 8-dimensional space)", async () => {
  const self = await getJson("/v1/agent/self");
  assert.deepEqual(self.Coord, { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 });
});

test("agent/self - Member is this node's LAN member and Meta its node meta", async () => {
  const self = await getJson("/v1/agent/self");
  const member = self.Member as Record<string, unknown>;
  assert.equal(member.Name, "test-node");
  assert.equal(member.Port, 8301);
  assert.equal(member.Status, 1);
  assert.equal((member.Tags as Record<string, string>).role, "consul");
  assert.deepEqual(self.Meta, { "consul-network-segment": "", "consul-version": "1.20.0" });
});

test("agent/self - Stats sections used by consul info, every value a string", async () => {
  const stats = (await getJson("/v1/agent/self")).Stats as Record<string, Record<string, unknown>>;
  for (const section of ["agent", "build", "consul", "raft", "runtime", "serf_lan", "serf_wan"]) {
    assert.ok(stats[section], `section ${section}`);
    for (const [k, v] of Object.entries(stats[section])) assert.equal(typeof v, "string", `${section}.${k}`);
  }
  assert.equal(stats.consul.server, "true");
  assert.equal(stats.consul.leader, "true");
  assert.equal(stats.consul.leader_addr, "127.0.0.1:8300");
  assert.equal(stats.consul.known_datacenters, "1");
  assert.equal(stats.raft.state, "Leader");
  assert.equal(stats.raft.num_peers, "0");
  assert.equal(stats.build.version, "1.20.0");
  assert.equal(stats.serf_lan.members, "1");
  assert.equal(stats.agent.services, "0");
  assert.match(String(stats.runtime.cpu_count), /^\d+$/);
});

test("agent/self - no X-Consul-Index: agent answers come from local state", async () => {
  const res = await call("GET", "/v1/agent/self");
  assert.equal(res.headers.get("x-consul-index"), null);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  await res.body?.cancel();
});

test("agent/members - this single node, alive, with gossip port 8301 and server tags", async () => {
  const res = await call("GET", "/v1/agent/members");
  assert.equal(res.status, 200);
  const members = (await res.json()) as Record<string, unknown>[];
  assert.equal(members.length, 1);
  const [m] = members;
  assert.deepEqual(Object.keys(m), ["Name", "Addr", "Port", "Tags", "Status", "ProtocolMin", "ProtocolMax", "ProtocolCur", "DelegateMin", "DelegateMax", "DelegateCur"]);
  assert.equal(m.Name, "test-node");
  assert.equal(m.Addr, "127.0.0.1");
  assert.equal(m.Port, 8301);
  assert.equal(m.Status, 1);
  assert.deepEqual([m.ProtocolMin, m.ProtocolMax, m.ProtocolCur, m.DelegateMin, m.DelegateMax, m.DelegateCur], [1, 5, 2, 2, 5, 4]);
  const tags = m.Tags as Record<string, string>;
  assert.equal(tags.role, "consul");
  assert.equal(tags.dc, "dc1");
  assert.equal(tags.id, "11111111-2222-3333-4444-555555555555");
  assert.equal(tags.port, "8300");
  assert.equal(tags.vsn, "2");
  assert.equal(tags.vsn_min, "2");
  assert.equal(tags.vsn_max, "3");
  assert.equal(tags.raft_vsn, "3");
  assert.equal(tags.segment, "");
  assert.match(tags.build, /^1\.20\.0:/);
});

test("agent/members - ?wan=1 lists the WAN member <node>.<dc> on port 8302", async () => {
  const members = (await (await call("GET", "/v1/agent/members?wan=1")).json()) as Record<string, unknown>[];
  assert.equal(members.length, 1);
  assert.equal(members[0].Name, "test-node.dc1");
  assert.equal(members[0].Port, 8302);
});

test("agent/members - an empty wan value means the LAN pool", async () => {
  const members = (await (await call("GET", "/v1/agent/members?wan=")).json()) as Record<string, unknown>[];
  assert.equal(members[0].Name, "test-node");
});

test("agent/members - segment with wan=true is 400 Cannot provide a segment with wan=true", async () => {
  const res = await call("GET", "/v1/agent/members?wan=1&segment=alpha");
  assert.equal(res.status, 400);
  assert.equal(await res.text(), "Cannot provide a segment with wan=true");
  const all = await call("GET", "/v1/agent/members?segment=_all");
  assert.equal(all.status, 200);
  assert.equal(((await all.json()) as unknown[]).length, 1);
});

test("agent/members - ?filter selects members; a bad expression is 400", async () => {
  const hit = (await (await call("GET", `/v1/agent/members?filter=${encodeURIComponent('Tags.role == "consul"')}`)).json()) as unknown[];
  assert.equal(hit.length, 1);
  const miss = (await (await call("GET", `/v1/agent/members?filter=${encodeURIComponent("Status != 1")}`)).json()) as unknown[];
  assert.deepEqual(miss, []);
  const bad = await call("GET", `/v1/agent/members?filter=${encodeURIComponent("Nope == 1")}`);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /^Failed to create boolean expression evaluator/);
});

test("agent/members - a non-default partition is refused like every CE endpoint", async () => {
  const res = await call("GET", "/v1/agent/members?partition=eu");
  assert.equal(res.status, 400);
  assert.equal(await res.text(), 'Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature');
});

test("agent/host - Memory, CPU, Host, Disk, CollectionTime (unix ns), Errors", async () => {
  const res = await call("GET", "/v1/agent/host");
  assert.equal(res.status, 200);
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ["Memory", "CPU", "Host", "Disk", "CollectionTime", "Errors"]);
  assert.ok(((body.Memory as Record<string, number>).total ?? 0) > 0);
  assert.ok(Array.isArray(body.CPU));
  assert.equal(typeof (body.Host as Record<string, unknown>).hostname, "string");
  const ns = /"CollectionTime":(\d+)/.exec(text)?.[1] ?? "";
  assert.ok(ns.length >= 19, "nanoseconds since the epoch, exact");
});

test("agent/version - SHA, BuildDate, HumanVersion, FIPS", async () => {
  const body = await getJson("/v1/agent/version");
  assert.deepEqual(Object.keys(body), ["SHA", "BuildDate", "HumanVersion", "FIPS"]);
  assert.equal(body.HumanVersion, "1.20.0");
  assert.equal(body.FIPS, "");
});

test("agent/metrics - JSON summary with runtime gauges", async () => {
  const body = await getJson("/v1/agent/metrics");
  assert.deepEqual(Object.keys(body), ["Timestamp", "Gauges", "Points", "Counters", "Samples"]);
  assert.match(String(body.Timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
  const gauges = body.Gauges as { Name: string; Value: number; Labels: Record<string, string> }[];
  assert.ok(gauges.some((g) => g.Name === "consul.runtime.alloc_bytes" && g.Value > 0));
  assert.ok(gauges.some((g) => g.Name === "consul.runtime.num_goroutines"));
});

test("agent/metrics - Prometheus format without a retention time answers 200 with an empty body and the reason in X-Consul-Reason", async () => {
  const reason = "Prometheus is not enabled since its retention time is not positive";
  const res = await call("GET", "/v1/agent/metrics?format=prometheus");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
  assert.equal(res.headers.get("x-consul-reason"), reason);
  const viaAccept = await call("GET", "/v1/agent/metrics", { headers: { Accept: "application/openmetrics-text; version=1.0.0" } });
  assert.equal(viaAccept.status, 200);
  assert.equal(await viaAccept.text(), "");
  assert.equal(viaAccept.headers.get("x-consul-reason"), reason);
});

test("agent/metrics - Prometheus text when retention is configured (format param or Accept header)", async () => {
  const withProm = await startTestAgent({ prometheusRetentionTimeMs: 60_000 });
  try {
    const res = await fetch(`${withProm.base}/v1/agent/metrics?format=prometheus`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.match(await res.text(), /# TYPE consul_runtime_alloc_bytes gauge\nconsul_runtime_alloc_bytes \d+/);
    const viaAccept = await fetch(`${withProm.base}/v1/agent/metrics`, { headers: { Accept: "text/plain; version=0.4.0" } });
    assert.match(await viaAccept.text(), /^# HELP /);
    const json = await fetch(`${withProm.base}/v1/agent/metrics`, { headers: { Accept: "application/json" } });
    assert.match(json.headers.get("content-type") ?? "", /^application\/json/);
    await json.body?.cancel();
  } finally {
    await withProm.stop();
  }
});

test("agent/reload - 200 empty; a failing reload is 500 with the error text", async () => {
  const lifecycle = agent.running.agent.lifecycle;
  let reloads = 0;
  agent.running.agent.lifecycle = { ...lifecycle, reload: async () => void reloads++ };
  try {
    const ok = await call("PUT", "/v1/agent/reload");
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "");
    assert.equal(reloads, 1);
    agent.running.agent.lifecycle = {
      ...lifecycle,
      reload: () => Promise.reject(new Error("Failed to parse /etc/consul.d/x.hcl: bad")),
    };
    const bad = await call("PUT", "/v1/agent/reload");
    assert.equal(bad.status, 500);
    assert.equal(await bad.text(), "Failed to parse /etc/consul.d/x.hcl: bad");
  } finally {
    agent.running.agent.lifecycle = lifecycle;
  }
});

test("agent/reload - only PUT is allowed", async () => {
  const res = await call("GET", "/v1/agent/reload");
  assert.equal(res.status, 405);
  await res.body?.cancel();
});

test("agent/maintenance - enable is required: 400 Missing value for enable", async () => {
  const res = await call("PUT", "/v1/agent/maintenance");
  assert.equal(res.status, 400);
  assert.equal(await res.text(), "Missing value for enable");
});

test("agent/maintenance - a value ParseBool rejects is 400 Invalid value for enable", async () => {
  const res = await call("PUT", "/v1/agent/maintenance?enable=yes");
  assert.equal(res.status, 400);
  assert.equal(await res.text(), 'Invalid value for enable: "yes"');
  const blank = await call("PUT", "/v1/agent/maintenance?enable=");
  assert.equal(blank.status, 400);
  assert.equal(await blank.text(), 'Invalid value for enable: ""');
});

test("agent/maintenance - enable adds the critical _node_maintenance check with the reason; disable removes it", async () => {
  const on = await call("PUT", "/v1/agent/maintenance?enable=true&reason=upgrading%20kernel");
  assert.equal(on.status, 200);
  assert.equal(await on.text(), "");
  const check = agent.running.agent.localChecks().find((c) => c.CheckID === "_node_maintenance");
  assert.ok(check);
  assert.equal(check.Name, "Node Maintenance Mode");
  assert.equal(check.Status, "critical");
  assert.equal(check.Notes, "upgrading kernel");
  assert.equal(check.ServiceID, "");
  const off = await call("PUT", "/v1/agent/maintenance?enable=false");
  assert.equal(off.status, 200);
  assert.equal(agent.running.agent.localChecks().some((c) => c.CheckID === "_node_maintenance"), false);
});

test("agent/maintenance - without a reason the Notes carry Consul's default message", async () => {
  await (await call("PUT", "/v1/agent/maintenance?enable=1")).text();
  const check = agent.running.agent.localChecks().find((c) => c.CheckID === "_node_maintenance");
  assert.equal(check?.Notes, "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.");
  await (await call("PUT", "/v1/agent/maintenance?enable=0")).text();
});

test("agent/join - joining an unreachable address is 500 with memberlist's join error", async () => {
  const res = await call("PUT", "/v1/agent/join/10.255.0.1");
  assert.equal(res.status, 500);
  assert.match(await res.text(), /^1 error occurred:\n\t\* Failed to join 10\.255\.0\.1:8301: /);
  const withPort = await call("PUT", "/v1/agent/join/10.255.0.1:9301?wan=1");
  assert.equal(withPort.status, 500);
  assert.match(await withPort.text(), /Failed to join 10\.255\.0\.1:9301: /);
});

test("agent/join - joining this agent's own address succeeds", async () => {
  const res = await call("PUT", "/v1/agent/join/127.0.0.1");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
});

test("agent/force-leave - an unknown node is 500 agent: No node found with name", async () => {
  const res = await call("PUT", "/v1/agent/force-leave/ghost?prune");
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "agent: No node found with name 'ghost'");
});

test("agent/force-leave - a known member answers 200 empty", async () => {
  const res = await call("PUT", "/v1/agent/force-leave/test-node");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
});

test("agent/token - ACLs disabled: 401 ACL support disabled", async () => {
  const res = await call("PUT", "/v1/agent/token/default", { body: JSON.stringify({ Token: "secret" }) });
  assert.equal(res.status, 401);
  assert.equal(await res.text(), "ACL support disabled");
  const unknown = await call("PUT", "/v1/agent/token/bogus", { body: "{}" });
  assert.equal(unknown.status, 401);
  await unknown.body?.cancel();
});
