import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { askUdp } from "./dns-support.ts";

// ACLs across a cluster of real processes: three servers (default_policy deny, initial
// management token) and two client agents. Client agents hold no ACL tables: requests they
// forward carry the caller's token and a server decides; what they decide themselves (agent
// endpoints) they resolve through a server and cache; their own catalog writes carry the
// agent token and are vetted by a server. client-a has a capable agent token and
// down_policy extend-cache; client-b an agent token without node:write and down_policy deny.

const MANAGEMENT = "root";
const AGENT_A = "0a0a0a0a-0000-4000-8000-00000000000a";
const AGENT_B = "0b0b0b0b-0000-4000-8000-00000000000b";

interface ClientSpec {
  name: string;
  bind: string;
  httpPort: number;
  dnsPort: number;
  serfPort: number;
  dataDir: string;
  configFile: string;
}

const servers: ServerSpec[] = [];
/** AccessorID of client-b's agent token (known once it is made). */
let agentBAccessor = "";
const clients: ClientSpec[] = [];
const running = new Map<string, AgentProcess>();
let workDir = "";

function proc(name: string): AgentProcess {
  const p = running.get(name);
  assert.ok(p, `${name} is running`);
  return p;
}

async function call(agent: AgentProcess, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["X-Consul-Token"] = options.token;
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const res = await fetch(`${agent.base}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

async function startServer(spec: ServerSpec): Promise<AgentProcess> {
  const p = await spawnAgent(serverArgs(spec, 3, servers, [`-config-file=${join(workDir, "server.json")}`]), { httpPort: spec.httpPort, timeoutMs: 20_000 });
  running.set(spec.name, p);
  return p;
}

async function startClient(spec: ClientSpec): Promise<AgentProcess> {
  const args = [
    `-node=${spec.name}`,
    `-data-dir=${spec.dataDir}`,
    `-bind=${spec.bind}`,
    `-client=${spec.bind}`,
    `-http-port=${spec.httpPort}`,
    `-dns-port=${spec.dnsPort}`,
    `-serf-lan-port=${spec.serfPort}`,
    `-server-port=${await freePort()}`,
    ...servers.map((s) => `-retry-join=${s.bind}:${s.serfPort}`),
    `-config-file=${spec.configFile}`,
  ];
  // Ready once the agent answers; its tokens may not resolve yet (agent:read needs a server).
  const p = await spawnAgent(args, { httpPort: spec.httpPort, httpHost: spec.bind, timeoutMs: 20_000, ready: async (base) => (await fetch(`${base}/v1/status/leader`)).status === 200 });
  running.set(spec.name, p);
  return p;
}

async function leaderOf(agent: AgentProcess): Promise<string> {
  return getJson<string>(`${agent.base}/v1/status/leader`);
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), "consulate-acl-cluster-"));
  await writeFile(
    join(workDir, "server.json"),
    // raft_multiplier 2: elections in ~2 s rather than ~5 s, still calm on a loaded machine.
    JSON.stringify({ acl: { enabled: true, default_policy: "deny", tokens: { initial_management: MANAGEMENT, agent: MANAGEMENT } }, performance: { raft_multiplier: 2 } }),
  );
  for (const [i, bind] of ["127.0.0.1", "127.0.0.2", "127.0.0.3"].entries()) servers.push(await serverSpec(`acl-server-${i + 1}`, bind));
  const clientConfig = (agentToken: string, downPolicy: string) => ({
    acl: { enabled: true, default_policy: "deny", down_policy: downPolicy, token_ttl: "1s", tokens: { agent: agentToken, dns: agentToken } },
    node_meta: { rack: "r1" },
    addresses: { dns: "127.0.0.1" },
    performance: { rpc_hold_timeout: "1s" },
    // Coordinates every 0.5–1 s instead of 15–30 s, so the coordinate test is quick.
    sync_coordinate_interval_min: "500ms",
  });
  for (const [name, bind, agentToken, downPolicy] of [
    ["acl-client-a", "127.0.0.4", AGENT_A, "extend-cache"],
    ["acl-client-b", "127.0.0.5", AGENT_B, "deny"],
  ] as const) {
    const configFile = join(workDir, `${name}.json`);
    await writeFile(configFile, JSON.stringify(clientConfig(agentToken, downPolicy)));
    clients.push({ name, bind, httpPort: await freePort(), dnsPort: await freePort(), serfPort: await freePort(), dataDir: await mkdtemp(join(tmpdir(), `consulate-${name}-`)), configFile });
  }

  // -retry-join keeps trying, so the three may start together.
  await Promise.all(servers.map(startServer));
  await eventually("one leader and the management token on every server", async () => {
    for (const s of servers) if ((await call(proc(s.name), "GET", "/v1/acl/token/self", { token: MANAGEMENT })).status !== 200) return false;
    return (await leaderOf(proc(servers[0].name))) !== "";
  }, 20_000);

  // The clients' agent tokens exist before the clients start (SecretIDs chosen up front).
  const s1 = proc(servers[0].name);
  const policy = async (Name: string, Rules: string) => assert.equal((await call(s1, "PUT", "/v1/acl/policy", { token: MANAGEMENT, body: { Name, Rules } })).status, 200);
  await policy("client-a-agent", `node "acl-client-a" { policy = "write" }\nservice_prefix "" { policy = "read" }`);
  await policy("nodes-read", `node_prefix "" { policy = "read" }`);
  for (const [SecretID, Name] of [[AGENT_A, "client-a-agent"], [AGENT_B, "nodes-read"]]) {
    const made = await call(s1, "PUT", "/v1/acl/token", { token: MANAGEMENT, body: { SecretID, Policies: [{ Name }] } });
    assert.equal(made.status, 200, made.text);
    if (SecretID === AGENT_B) agentBAccessor = (JSON.parse(made.text) as { AccessorID: string }).AccessorID;
  }
  await Promise.all(clients.map(startClient));
});

after(async () => {
  for (const p of running.values()) await p.kill();
  for (const s of [...servers, ...clients]) await rm(s.dataDir, { recursive: true, force: true });
  if (workDir !== "") await rm(workDir, { recursive: true, force: true });
});

test("acl cluster - a token made on one server works at once through every server and the client agent (KV, agent service register); the client forwards every token form and never decides from its own tables", async () => {
  const s1 = proc(servers[0].name);
  const made = await call(s1, "PUT", "/v1/acl/policy", { token: MANAGEMENT, body: { Name: "app", Rules: `key_prefix "app/" { policy = "write" }\nservice "web" { policy = "write" }\nagent_prefix "" { policy = "read" }` } });
  assert.equal(made.status, 200, made.text);
  const token = await call(s1, "PUT", "/v1/acl/token", { token: MANAGEMENT, body: { Description: "app", Policies: [{ Name: "app" }] } });
  assert.equal(token.status, 200, token.text);
  const secret = (JSON.parse(token.text) as { SecretID: string }).SecretID;

  // At once, no waiting: on the followers an unknown secret first catches up with the leader.
  for (const [i, s] of servers.entries()) {
    const p = proc(s.name);
    assert.equal((await call(p, "PUT", `/v1/kv/app/server-${i}`, { token: secret, body: "v" })).text, "true");
    assert.equal((await call(p, "GET", "/v1/agent/self", { token: secret })).status, 200, `agent:read through ${s.name}`);
  }
  const client = proc("acl-client-a");
  // The three ways to present a token all survive the client's forwarding to a server.
  assert.equal((await call(client, "PUT", "/v1/kv/app/header", { token: secret, body: "h" })).text, "true");
  assert.equal((await call(client, "PUT", "/v1/kv/app/bearer", { body: "b", headers: { Authorization: `Bearer ${secret}` } })).text, "true");
  assert.equal((await call(client, "PUT", `/v1/kv/app/query?token=${secret}`, { body: "q" })).text, "true");
  const denied = await call(client, "PUT", "/v1/kv/other", { token: secret, body: "x" });
  assert.equal(denied.status, 403);
  assert.match(denied.text, /^Permission denied: token with AccessorID '[0-9a-f-]{36}' lacks permission 'key:write' on "other"$/);
  assert.equal((await call(client, "GET", "/v1/kv/app/header", { token: "not-a-real-secret" })).text, "ACL not found");
  assert.equal((await call(client, "GET", "/v1/kv/app/header")).status, 403, "no token: anonymous, even though the server's agent token is the management token");
  assert.equal((await call(client, "GET", "/v1/agent/self", { token: "not-a-real-secret" })).text, "ACL not found");

  // An agent endpoint decided by the client itself, with the token resolved through a server.
  const register = await call(client, "PUT", "/v1/agent/service/register", { token: secret, body: { Name: "web", ID: "web-a", Port: 8080 } });
  assert.equal(register.status, 200, register.text);
  const refused = await call(client, "PUT", "/v1/agent/service/register", { token: secret, body: { Name: "db", Port: 5432 } });
  assert.equal(refused.status, 403);
  assert.match(refused.text, /lacks permission 'service:write' on "db"/);
  // Synced with the token it was registered with.
  await eventually("web-a in the catalog", async () => {
    const nodes = await getJson<{ ServiceID: string; Node: string }[]>(`${s1.base}/v1/catalog/service/web?token=${MANAGEMENT}`);
    return nodes.some((n) => n.ServiceID === "web-a" && n.Node === "acl-client-a");
  });
});

test("acl cluster - a client agent with only an agent token syncs its node; one whose agent token lacks node:write logs Consul's warning and keeps serving", async () => {
  const s1 = proc(servers[0].name);
  // Node info comes from the client's own write (the leader's member reconcile knows no node_meta).
  await eventually("client-a's node_meta in the catalog", async () => {
    const node = await getJson<{ Node: { Meta: Record<string, string> } } | null>(`${s1.base}/v1/catalog/node/acl-client-a?token=${MANAGEMENT}`);
    return node?.Node.Meta.rack === "r1";
  });
  assert.doesNotMatch(proc("acl-client-a").output(), /blocked by ACLs/);

  // DNS on the client answers as its dns token, which it resolved through a server.
  const a = clients[0];
  const answer = await askUdp(a.dnsPort, "acl-client-a.node.consul", "A");
  assert.deepEqual((answer.answers ?? []).map((r) => ("data" in r ? r.data : undefined)), [a.bind]);

  const b = proc("acl-client-b");
  await eventually("client-b's warning", async () => b.output().includes(`[WARN]  agent: Node info update blocked by ACLs: node=acl-client-b accessorID=${agentBAccessor}\n`));
  assert.doesNotMatch(b.output(), new RegExp(AGENT_B), "the secret is never logged");
  assert.equal(b.child.exitCode, null, "still running");
  assert.equal((await call(b, "GET", "/v1/agent/self", { token: MANAGEMENT })).status, 200);
});

test("acl cluster - coordinate updates carry the agent token: client-a's (node:write) lands on the servers; client-b's is refused with Consul's warning and the agent keeps running", async () => {
  const s1 = proc(servers[0].name);
  await eventually("client-a's coordinate on the servers", async () => (await call(s1, "GET", "/v1/coordinate/node/acl-client-a", { token: MANAGEMENT })).status === 200, 30_000);
  const b = proc("acl-client-b");
  await eventually("client-b's coordinate warning", async () => b.output().includes(`[WARN]  agent: Coordinate update blocked by ACLs: accessorID=${agentBAccessor}\n`), 30_000);
  assert.equal((await call(s1, "GET", "/v1/coordinate/node/acl-client-b", { token: MANAGEMENT })).status, 404, "client-b's coordinate never landed");
  assert.doesNotMatch(b.output(), new RegExp(AGENT_B), "the secret is never logged");
  assert.equal(b.child.exitCode, null, "still running");
  assert.equal((await call(b, "GET", "/v1/agent/self", { token: MANAGEMENT })).status, 200);
});

test("acl cluster - a follower restart keeps every ACL object; with all servers gone, extend-cache keeps a cached token working and deny refuses it", async () => {
  const s1 = proc(servers[0].name);
  const leader = await leaderOf(s1);
  const follower = servers.find((s) => `${s.bind}:${s.serverPort}` !== leader);
  assert.ok(follower);
  const policies = async (p: AgentProcess) => (JSON.parse((await call(p, "GET", "/v1/acl/policies", { token: MANAGEMENT })).text) as { Name: string }[]).map((x) => x.Name).sort();
  const tokens = async (p: AgentProcess) => (JSON.parse((await call(p, "GET", "/v1/acl/tokens", { token: MANAGEMENT })).text) as { AccessorID: string }[]).map((x) => x.AccessorID).sort();
  const before = { policies: await policies(s1), tokens: await tokens(s1) };
  assert.ok(before.policies.includes("app") && before.tokens.length >= 5);

  await proc(follower.name).kill();
  running.delete(follower.name);
  const restarted = await startServer(follower);
  // ?stale: answered from the restarted server's own state, not the leader's.
  await eventually("the restarted follower holds every policy and token", async () => {
    const p = JSON.parse((await call(restarted, "GET", "/v1/acl/policies?stale", { token: MANAGEMENT })).text) as { Name: string }[];
    const t = JSON.parse((await call(restarted, "GET", "/v1/acl/tokens?stale", { token: MANAGEMENT })).text) as { AccessorID: string }[];
    return JSON.stringify(p.map((x) => x.Name).sort()) === JSON.stringify(before.policies) && JSON.stringify(t.map((x) => x.AccessorID).sort()) === JSON.stringify(before.tokens);
  }, 15_000);
  assert.equal((await call(restarted, "GET", "/v1/agent/self", { token: MANAGEMENT })).status, 200);

  // Both clients cache the management token, then every server goes away.
  const a = proc("acl-client-a");
  const b = proc("acl-client-b");
  for (const c of [a, b]) assert.equal((await call(c, "GET", "/v1/agent/self", { token: MANAGEMENT })).status, 200);
  for (const s of servers) {
    await proc(s.name).kill();
    running.delete(s.name);
  }
  // Past token_ttl (1s) the clients must ask again and cannot.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await call(a, "GET", "/v1/agent/self", { token: MANAGEMENT })).status, 200, "extend-cache: the cached answer stands");
  const refused = await call(b, "GET", "/v1/agent/self", { token: MANAGEMENT });
  assert.equal(refused.status, 403, "deny: nothing is allowed while no server answers");
  // Logged while a's request was served, but agent logs go out in batches every 15 ms: b's
  // refusal can come back first on a fast machine, so the line is waited for.
  await eventually("a's log line about the failed resolution", () => Promise.resolve(/agent\.acl: Error resolving token/.test(a.output())), 5000, 20);
  assert.doesNotMatch(a.output() + b.output(), new RegExp(`${AGENT_A}|${AGENT_B}`));
});
