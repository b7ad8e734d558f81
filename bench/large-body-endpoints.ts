import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchTempDir } from "./child-process.ts";
import { longestBetween, type TurnRecord } from "./large-request.ts";
import { withServer, type ServerUnderTest } from "./servers.ts";

// Issue 12 item 6, the endpoints other than catalog register / txn / restore: each takes a
// JSON body up to the 512 KiB cap. One -dev agent (ACLs on, default allow) with the turn
// tracker; each case sends a body near the cap ROUNDS times and reports the longest turn
// (CPU, as large-request.ts judges it) that began while it ran. Not part of `npm run bench`
// yet (a finding tool): `npx tsx bench/large-body-endpoints.ts`, CASES=<substring,...> to pick
// cases, ROUNDS=<n>, PROF_DIR=<dir> for a --cpu-prof of the agent, SHUTDOWN=1 to measure the
// agent's shutdown after the cases. Binding rules and auth
// methods are not served by this agent; a legacy intention's only free text is capped at 512.

const TRACKER = fileURLToPath(new URL("./turn-tracker-preload.mjs", import.meta.url));
const BODY_CAP = 512 * 1024;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TOKEN = "b1gb0d1e-0000-4000-8000-000000000001";

function fill(make: (n: number) => string): string {
  let lo = 1;
  let hi = 200_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (make(mid).length <= BODY_CAP - 64) lo = mid;
    else hi = mid - 1;
  }
  return make(lo);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A 512 KiB Rules text whose names differ per round, so no round finds another's parse cached. */
function bigPolicyRules(r: number): string {
  const rules = (n: number) => range(n).map((i) => `key_prefix "r${r}-${i}/" { policy = "read" }`).join("\n");
  // Sized as the JSON string the policy body carries (its quotes escaped).
  return JSON.parse(fill((n) => JSON.stringify(rules(n)))) as string;
}

/** Creates a policy with `rules` and a token linking it; answers the token's secret. */
async function tokenWithPolicy(server: ServerUnderTest, name: string, rules: string): Promise<string> {
  const headers = { "X-Consul-Token": TOKEN };
  const policy = await fetch(`${server.base}/v1/acl/policy`, { method: "PUT", headers, body: JSON.stringify({ Name: name, Rules: rules }) });
  const { ID } = (await policy.json()) as { ID: string };
  const token = await fetch(`${server.base}/v1/acl/token`, { method: "PUT", headers, body: JSON.stringify({ Policies: [{ ID }] }) });
  return ((await token.json()) as { SecretID: string }).SecretID;
}

interface Case {
  name: string;
  method: string;
  path: (round: number) => string;
  body: (round: number) => string;
  /** Runs before the measured window; answers the token the measured request carries (default: management). */
  setup?: (server: ServerUnderTest, round: number) => Promise<string>;
}

export const CASES: Case[] = [
  {
    name: "config entry: service-intentions, cap of Sources",
    method: "PUT",
    path: () => "/v1/config",
    body: (r) => fill((n) => JSON.stringify({ Kind: "service-intentions", Name: `dest-${r}`, Sources: range(n).map((i) => ({ Name: `src-${i}`, Action: "allow" })) })),
  },
  {
    name: "config entry: service-defaults, cap of Meta",
    method: "PUT",
    path: () => "/v1/config",
    body: (r) => fill((n) => JSON.stringify({ Kind: "service-defaults", Name: `meta-${r}`, Protocol: "http", Meta: Object.fromEntries(range(Math.min(n, 64)).map((i) => [`k${i}`, "v"])), UpstreamConfig: { Overrides: range(n).map((i) => ({ Name: `up-${i}`, ConnectTimeoutMs: 100 })) } })),
  },
  {
    name: "ACL policy: Rules of key_prefix blocks",
    method: "PUT",
    path: () => "/v1/acl/policy",
    body: (r) => fill((n) => JSON.stringify({ Name: `big-${r}`, Rules: range(n).map((i) => `key_prefix "k-${i}/" { policy = "read" }`).join("\n") })),
  },
  {
    name: "ACL role: ServiceIdentities",
    method: "PUT",
    path: () => "/v1/acl/role",
    body: (r) => fill((n) => JSON.stringify({ Name: `role-${r}`, ServiceIdentities: range(n).map((i) => ({ ServiceName: `svc-${i}` })) })),
  },
  {
    name: "ACL token: ServiceIdentities",
    method: "PUT",
    path: () => "/v1/acl/token",
    body: () => fill((n) => JSON.stringify({ Description: "big", ServiceIdentities: range(n).map((i) => ({ ServiceName: `svc-${i}` })) })),
  },
  {
    name: "agent service register: large Proxy.Config",
    method: "PUT",
    path: () => "/v1/agent/service/register",
    body: (r) => fill((n) => JSON.stringify({ Name: `proxy-${r}`, Kind: "connect-proxy", Port: 21000 + r, Proxy: { DestinationServiceName: "web", Config: Object.fromEntries(range(n).map((i) => [`key-${i}`, { nested: i, s: "x" }])) } })),
  },
  {
    name: "agent service register: many Checks",
    method: "PUT",
    path: () => "/v1/agent/service/register",
    body: (r) => fill((n) => JSON.stringify({ Name: `checked-${r}`, Port: 22000 + r, Checks: range(n).map((i) => ({ CheckID: `c-${r}-${i}`, Name: `c ${i}`, TTL: "600s" })) })),
  },
  // Reads of what the case above left: four services of ~5,000 checks each (CASES=many Checks picks all three).
  {
    name: "agent services list: after many Checks",
    method: "GET",
    path: () => "/v1/agent/services",
    body: () => "",
  },
  {
    name: "agent checks list: after many Checks",
    method: "GET",
    path: () => "/v1/agent/checks",
    body: () => "",
  },
  {
    name: "prepared query: many Tags",
    method: "POST",
    path: () => "/v1/query",
    body: (r) => fill((n) => JSON.stringify({ Name: `q-${r}`, Service: { Service: "web", Tags: range(n).map((i) => `tag-${i}`) } })),
  },
  // The first request carrying a token whose policy is a 512 KiB Rules text: the token's
  // authorizer is compiled then (the write only parsed and validated the text).
  {
    name: "ACL token: first use, 512 KiB policy",
    method: "GET",
    path: (r) => `/v1/kv/r${r}-1/x`,
    body: () => "",
    setup: (server, r) => tokenWithPolicy(server, `first-use-${r}`, bigPolicyRules(r)),
  },
  {
    name: "KV: 512 KiB value",
    method: "PUT",
    path: (r) => `/v1/kv/big/${r}`,
    body: () => "x".repeat(BODY_CAP),
  },
];

async function call(server: ServerUnderTest, method: string, path: string, body: string, token = TOKEN): Promise<number> {
  const res = await fetch(`${server.base}${path}`, { method, body: method === "GET" ? undefined : body, headers: { "X-Consul-Token": token } });
  const text = await res.text();
  if (res.status !== 200 && !(method === "GET" && res.status === 404)) process.stderr.write(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}\n`);
  return res.status;
}

function readRecords(path: string): TurnRecord[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as TurnRecord);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const only = process.env.CASES?.split(",");
  const turnLog = join(benchTempDir(), "large-body-endpoints.jsonl");
  rmSync(turnLog, { force: true });
  process.env.CONSULATE_TURN_LOG = turnLog;
  const hcl = `acl {\n enabled = true\n default_policy = "allow"\n tokens {\n initial_management = "${TOKEN}"\n }\n}`;
  await withServer("agent", { nodeFlags: ["--import", TRACKER, ...(process.env.PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.PROF_DIR, "--cpu-prof-interval", "200"] : [])], agentArgs: ["-log-level", "warn", "-hcl", hcl] }, async (server) => {
    for (const c of CASES) {
      if (only && !only.some((o) => c.name.includes(o))) continue;
      const bodies = Array.from({ length: ROUNDS + 1 }, (_, r) => c.body(r));
      await call(server, c.method, c.path(100), c.body(100), await c.setup?.(server, 100)); // warm
      const statuses: number[] = [];
      let l = { cpuMs: 0, wallMs: 0, gcMs: 0 };
      // One measured window per round: a setup (policy and token writes) stays outside them.
      for (let r = 0; r < ROUNDS; r++) {
        const token = await c.setup?.(server, r);
        await new Promise((res) => setTimeout(res, 400));
        const from = Date.now();
        statuses.push(await call(server, c.method, c.path(r), bodies[r], token));
        const to = Date.now();
        await new Promise((res) => setTimeout(res, 400));
        const round = longestBetween(readRecords(turnLog), from, to);
        if (round.cpuMs > l.cpuMs) l = round;
      }
      console.log(`${c.name.padEnd(48)} ${String(bodies[0].length).padStart(7)} B  [${statuses.join(",")}]  longest turn ${l.cpuMs.toFixed(1)} ms CPU / ${l.wallMs.toFixed(1)} ms wall, GC ${l.gcMs.toFixed(1)} ms`);
    }
    if (process.env.SHUTDOWN === "1") {
      // The agent's shutdown with what the cases left (the "many Checks" case: ~20,000 TTL
      // runners), once the last registration's catalog sync has long been applied.
      await new Promise((res) => setTimeout(res, 5000));
      const from = Date.now();
      await server.proc.stop(60_000);
      const l = longestBetween(readRecords(turnLog), from, Date.now());
      console.log(`${"agent shutdown".padEnd(48)} ${"".padStart(7)}    longest turn ${l.cpuMs.toFixed(1)} ms CPU / ${l.wallMs.toFixed(1)} ms wall, GC ${l.gcMs.toFixed(1)} ms`);
    }
  });
}

await main();
