// Real processes: two servers with TLS on their RPC port (verify_incoming), Connect and
// auto_encrypt.allow_tls, and two client agents that hold only the CA file and join the
// follower. The one with auto_encrypt.tls asks the follower for a certificate over TLS without a
// client certificate, then uses it for RPC (through whichever server it picked, as a follower
// and as the leader) and for its HTTPS port, which requires client certificates; it trusts a
// rotated Connect root as soon as the servers publish it. The one without auto_encrypt has no
// certificate and is refused by the server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type { AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { startClientAgent, startServer, tlsHcl, writeConfig, type ClientAgent } from "../support/tls-cluster.ts";
import { makePki } from "../support/tls-pki.ts";

let dir: string;
const procs: AgentProcess[] = [];
let servers: ServerSpec[];
const serverProcs = new Map<string, AgentProcess>();
let follower: ServerSpec;
let auto: ClientAgent & { httpsPort: number };
let bare: ClientAgent;

interface Roots {
  TrustDomain: string;
  Roots: { ID: string; RootCert: string; Active: boolean }[];
}

const api = (s: ServerSpec, path: string): string => `http://127.0.0.1:${s.httpPort}${path}`;
const leaderOf = async (s: ServerSpec): Promise<string> => (await (await fetch(api(s, "/v1/status/leader"))).json()) as string;
const rootsOf = async (s: ServerSpec): Promise<Roots> => (await (await fetch(api(s, "/v1/connect/ca/roots"))).json()) as Roots;

/** Both servers name the same leader; returns its spec. */
async function agreedLeader(): Promise<ServerSpec> {
  let leader = "";
  await eventually("both servers to name one leader", async () => {
    const named = await Promise.all(servers.map(leaderOf));
    leader = named[0];
    return leader !== "" && named.every((n) => n === leader);
  });
  const found = servers.find((s) => leader.startsWith(`${s.bind}:`));
  assert.ok(found, `leader ${leader} is one of the servers`);
  return found;
}

/** A GET over HTTPS to the auto client with a client certificate: its status, or the TLS error. */
function httpsWithClientCert(cert: string, key: string, ca: string[]): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: "127.0.0.1", port: auto.httpsPort, path: "/v1/agent/self", ca, cert, key, servername: "localhost", agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.once("error", (err) => resolve(err.message));
    req.end();
  });
}

/** A Connect leaf for `service`, issued by whichever root is active on the servers now. */
async function leaf(service: string): Promise<{ CertPEM: string; PrivateKeyPEM: string }> {
  const res = await fetch(api(follower, `/v1/agent/connect/ca/leaf/${service}`));
  assert.equal(res.status, 200);
  return (await res.json()) as { CertPEM: string; PrivateKeyPEM: string };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-auto-encrypt-"));
  const pki = await makePki(dir, "cluster");
  const s1 = await serverSpec("ae-s1", "127.0.0.1");
  // One server port number on both addresses: a client dials its retry_join host at its own server port.
  servers = [s1, { ...(await serverSpec("ae-s2", "127.0.0.2")), serverPort: s1.serverPort }];
  const serverFiles = await pki.issue("server", "server-0");
  const serverConfig = writeConfig(
    dir,
    "server",
    tlsHcl({ ca: serverFiles.ca, cert: serverFiles.cert, key: serverFiles.key, defaults: { verifyIncoming: true, verifyOutgoing: true }, internalRpc: { verifyServerHostname: true } }) +
      "connect {\n  enabled = true\n}\nauto_encrypt {\n  allow_tls = true\n}\n",
  );
  await Promise.all(
    servers.map((s, i) =>
      startServer(s, 2, servers.filter((_, j) => j !== i), serverConfig, procs).then((p) => {
        serverProcs.set(s.name, p);
      }),
    ),
  );
  const leader = await agreedLeader();
  follower = servers.find((s) => s !== leader) as ServerSpec;
  // The leader sets up the Connect CA after its election; until then signing answers "CA provider is nil".
  await eventually("the Connect CA to have an active root", async () => (await fetch(api(follower, "/v1/connect/ca/roots"))).status === 200 && (await rootsOf(follower)).Roots.some((r) => r.Active), 30_000);
  const caOnly = tlsHcl({ ca: serverFiles.ca, defaults: { verifyOutgoing: true } });
  const autoHcl = `${tlsHcl({ ca: serverFiles.ca, defaults: { verifyOutgoing: true }, https: { verifyIncoming: true } })}auto_encrypt {\n  tls = true\n  dns_san = ["ae-c1.example.test"]\n  ip_san = ["127.0.0.55"]\n}\n`;
  const [autoClient, bareClient] = await Promise.all([
    startClientAgent({ name: "ae-c1", bind: "127.0.0.5", join: follower, configFile: writeConfig(dir, "ae-c1", autoHcl), ready: "registered", https: true, dir, procs }),
    startClientAgent({ name: "ae-c2", bind: "127.0.0.6", join: follower, configFile: writeConfig(dir, "ae-c2", caOnly), ready: "serving", dir, procs }),
  ]);
  auto = { ...autoClient, httpsPort: autoClient.httpsPort as number };
  bare = bareClient;
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
  for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
});

test("auto_encrypt: a client with only the CA file gets a Connect certificate from a follower and registers through the servers", async () => {
  // The follower signed through the leader: the certificate came from the join host.
  // Logged at start-up, but agent logs go out in batches every 15 ms: a fast start can have its
  // node registered (the readiness check) before the batch is written, so the line is waited for.
  const upgraded = new RegExp(`automatically upgraded to TLS.*${follower.bind.replaceAll(".", "\\.")}:${follower.serverPort}`);
  await eventually("the client's log to report the TLS upgrade", () => Promise.resolve(upgraded.test(auto.proc.output())), 5000, 20);
  assert.match(auto.proc.output(), /Auto-Encrypt-TLS: true/);
  const reg = await fetch(`${auto.base}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "web", Port: 8080 }) });
  assert.equal(reg.status, 200);
  await eventually("the service in the servers' catalog", async () => {
    const rows = (await (await fetch(api(follower, "/v1/catalog/service/web"))).json()) as { Node: string }[];
    return rows.length === 1 && rows[0].Node === "ae-c1";
  });
});

test("auto_encrypt: the client's RPC works over TLS whether the server it uses is a follower or the leader", async () => {
  // The client keeps the server it picked; moving the leadership makes that server a follower
  // in one of the two rounds (and the leader in the other), so both paths carry a write.
  for (const round of [1, 2]) {
    const leader = await agreedLeader();
    const put = await fetch(`${auto.base}/v1/kv/ae-round-${round}`, { method: "PUT", body: `r${round}` });
    assert.equal(await put.text(), "true");
    const back = await fetch(`${auto.base}/v1/kv/ae-round-${round}?raw&consistent`);
    assert.equal(await back.text(), `r${round}`);
    if (round === 1) {
      const moved = await fetch(api(leader, "/v1/operator/raft/transfer-leader"), { method: "POST" });
      assert.equal(moved.status, 200, await moved.text());
      await eventually("the leadership to move", async () => (await agreedLeader()) !== leader);
    }
  }
});

test("auto_encrypt: the client serves HTTPS with the issued certificate (agent SPIFFE ID, requested SANs, Connect CA) and checks client certificates", async () => {
  const roots = await rootsOf(follower);
  const web = await leaf("web");
  const peer = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = tlsConnect(
      { host: "127.0.0.1", port: auto.httpsPort, ca: roots.Roots.map((r) => r.RootCert), cert: web.CertPEM, key: web.PrivateKeyPEM, servername: "localhost" },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.end();
        if (cert) resolve(cert);
        else reject(new Error("no peer certificate"));
      },
    );
    socket.once("error", reject);
  });
  const san = peer.subjectAltName ?? "";
  assert.ok(san.includes(`URI:spiffe://${roots.TrustDomain}/agent/client/dc/dc1/id/ae-c1`), san);
  assert.ok(san.includes("DNS:ae-c1.example.test") && san.includes("DNS:localhost"), san);
  assert.ok(san.includes("IP Address:127.0.0.55") && san.includes("IP Address:127.0.0.1"), san);
  assert.equal(await httpsWithClientCert(web.CertPEM, web.PrivateKeyPEM, roots.Roots.map((r) => r.RootCert)), 200);
});

test("auto_encrypt: a rotated Connect root is trusted by the client as soon as the servers publish it, before any renewal", async () => {
  const before = await rootsOf(follower);
  const put = await fetch(api(follower, "/v1/connect/ca/configuration"), { method: "PUT", body: JSON.stringify({ Provider: "consul", Config: { PrivateKeyType: "ec", PrivateKeyBits: 384 } }) });
  assert.equal(put.status, 200, await put.text());
  let after: Roots = before;
  await eventually("a new active root", async () => {
    after = await rootsOf(follower);
    return after.Roots.some((r) => r.Active && !before.Roots.some((b) => b.ID === r.ID));
  });
  // A leaf from the new root as client certificate: accepted only once the client trusts that root.
  const fresh = await leaf("after-rotation");
  const ca = after.Roots.map((r) => r.RootCert);
  await eventually("the client's HTTPS to accept a certificate from the new root", async () => (await httpsWithClientCert(fresh.CertPEM, fresh.PrivateKeyPEM, ca)) === 200);
  // Log lines are flushed in batches: the line may follow the change it reports by a few ms.
  await eventually("the client's log to report the new roots", () => Promise.resolve(/updated the trusted Connect CA roots/.test(auto.proc.output())));
  assert.doesNotMatch(auto.proc.output(), /renewed the agent certificate/);
});

test("auto_encrypt: a client without auto_encrypt and without a certificate is refused by the server", async () => {
  const res = await fetch(`${bare.base}/v1/kv/ae-bare`, { method: "PUT", body: "x", signal: AbortSignal.timeout(15_000) });
  assert.notEqual(res.status, 200);
  await res.arrayBuffer();
  // It may have picked either server (and tries the other after a refusal).
  await eventually("a server's log to name the refused handshake", () =>
    Promise.resolve([...serverProcs.values()].some((p) => /rpc: failed to read byte: .*certificate/.test(p.output()))),
  );
  const read = await fetch(api(follower, "/v1/kv/ae-bare"));
  assert.equal(read.status, 404);
});
