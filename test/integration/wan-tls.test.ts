import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually, getJson } from "../support/eventually.ts";
import { makePki, type PkiFiles } from "../support/tls-pki.ts";
import { dcAgentSpec, dcServerArgs, type DcAgentSpec } from "../support/wan-cluster.ts";

// Two datacenters whose server RPC runs over TLS with verify_server_hostname: each server's
// certificate names only its own datacenter (server.dc1.consul, server.dc2.consul), so a
// `?dc=` request crossing the WAN must check the remote datacenter's server name.

function tlsHcl(files: PkiFiles): string {
  return [
    "tls {",
    `  defaults {\n    ca_file = "${files.ca}"\n    cert_file = "${files.cert}"\n    key_file = "${files.key}"\n  }`,
    "  internal_rpc {\n    verify_incoming = true\n    verify_outgoing = true\n    verify_server_hostname = true\n  }",
    "}",
  ].join("\n");
}

test("wan tls - with verify_server_hostname, ?dc= reaches the other datacenter's server by its own server name", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-wan-tls-"));
  const s1 = await dcAgentSpec("t1", "dc1", "127.0.0.46");
  const s2 = await dcAgentSpec("t2", "dc2", "127.0.0.47");
  const procs: AgentProcess[] = [];
  t.after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await Promise.all([s1.dataDir, s2.dataDir, dir].map((d) => rm(d, { recursive: true, force: true })));
  });
  const pki = await makePki(dir, "wan");
  const start = async (s: DcAgentSpec, wanJoin: DcAgentSpec[]): Promise<AgentProcess> => {
    const config = join(dir, `${s.name}.hcl`);
    await writeFile(config, tlsHcl(await pki.issue("server", s.name, { datacenter: s.dc })));
    const p = await spawnAgent([...dcServerArgs(s, 1, [], wanJoin), `-config-file=${config}`], { httpPort: s.httpPort, timeoutMs: 40_000 });
    procs.push(p);
    return p;
  };
  const [p1, p2] = await Promise.all([start(s1, []), start(s2, [s1])]);
  for (const p of [p1, p2]) await eventually(`${p.base} has a leader`, async () => (await getJson<string>(`${p.base}/v1/status/leader`)) !== "", 20_000);
  await eventually("dc1 knows dc2", async () => (await getJson<string[]>(`${p1.base}/v1/catalog/datacenters`)).includes("dc2"), 20_000);
  const put = await fetch(`${p1.base}/v1/kv/over-tls?dc=dc2`, { method: "PUT", body: "yes" });
  assert.equal(put.status, 200, await put.text());
  assert.equal(await (await fetch(`${p2.base}/v1/kv/over-tls?raw`)).text(), "yes");
  const back = await fetch(`${p2.base}/v1/kv/over-tls?dc=dc1`);
  assert.equal(back.status, 404, "dc2 reaches dc1 too (the key is not there)");
});
