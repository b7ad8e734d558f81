// Real processes: a server and two client agents with tls.internal_rpc verify_incoming,
// verify_outgoing and verify_server_hostname. RPC runs over TLS on the server port (Raft over
// TLS between servers is covered with real sockets in test/unit/transport/server-port-tls.test.ts);
// a client agent whose certificate comes from another CA cannot use the RPC path, and its
// log and the server's say why.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { makePki, type PkiFiles } from "../support/tls-pki.ts";

let dir: string;
const procs: AgentProcess[] = [];
let servers: ServerSpec[] = [];
let server: AgentProcess;
let good: { proc: AgentProcess; base: string };
let stranger: { proc: AgentProcess; base: string };

/** Fast elections and joins: every agent starts at once, so early join attempts may miss. */
const FAST = 'retry_interval = "300ms"\nperformance {\n  raft_multiplier = 1\n  rpc_hold_timeout = "1s"\n}';

function tlsConfig(name: string, files: PkiFiles): string {
  const path = join(dir, `${name}.hcl`);
  writeFileSync(
    path,
    `tls {\n  defaults {\n    ca_file = "${files.ca}"\n    cert_file = "${files.cert}"\n    key_file = "${files.key}"\n  }\n  internal_rpc {\n    verify_incoming = true\n    verify_outgoing = true\n    verify_server_hostname = true\n  }\n}\n`,
  );
  return path;
}

async function clientAgent(name: string, bind: string, files: PkiFiles, ready: boolean): Promise<{ proc: AgentProcess; base: string }> {
  const httpPort = await freePort();
  const args = [
    `-node=${name}`,
    `-data-dir=${mkdtempSync(join(tmpdir(), `consulate-${name}-`))}`,
    `-bind=${bind}`,
    "-client=127.0.0.1",
    `-http-port=${httpPort}`,
    "-dns-port=-1",
    `-serf-lan-port=${await freePort()}`,
    `-server-port=${servers[0].serverPort}`,
    `-retry-join=${servers[0].bind}:${servers[0].serfPort}`,
    `-config-file=${tlsConfig(name, files)}`,
    `-hcl=${FAST}`,
  ];
  const proc = await spawnAgent(args, {
    httpPort,
    timeoutMs: 20_000,
    // The good client is ready once a server answers through it; the stranger once it serves HTTP.
    ready: ready
      ? async (base) => (await (await fetch(`${base}/v1/catalog/node/${name}`)).json()) !== null
      : async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200,
  });
  procs.push(proc);
  return { proc, base: `http://127.0.0.1:${httpPort}` };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-rpc-tls-"));
  const pki = await makePki(dir, "cluster");
  servers = [await serverSpec("tls-s1", "127.0.0.1")];
  const serverFiles = [await pki.issue("server", "server-0")];
  const clientFiles = await pki.issue("client", "client");
  const strangerFiles = await (await makePki(dir, "other")).issue("client", "client");
  // All four start at once (start-up dominates this file's time); joins retry quickly.
  const startServers = Promise.all(
    servers.map((s, i) =>
      spawnAgent([...serverArgs(s, 1, []), `-config-file=${tlsConfig(s.name, serverFiles[i])}`, `-hcl=${FAST}`], {
        httpPort: s.httpPort,
        timeoutMs: 20_000,
        ready: async (base) => (await (await fetch(`${base}/v1/status/leader`)).json()) !== "",
      }).then((p) => {
        procs.push(p);
        server = p;
        return p;
      }),
    ),
  );
  [, good, stranger] = await Promise.all([
    startServers,
    clientAgent("tls-c1", "127.0.0.3", clientFiles, true),
    clientAgent("tls-c2", "127.0.0.4", strangerFiles, false),
  ]);
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
  for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
});

test("rpc tls cluster: a client agent with a certificate from the CA writes and reads through the server over TLS RPC", async () => {
  const [s1] = servers;
  const viaClient = await fetch(`${good.base}/v1/kv/tls-client`, { method: "PUT", body: "from-c1" });
  assert.equal(await viaClient.text(), "true");
  const res = await fetch(`http://127.0.0.1:${s1.httpPort}/v1/kv/tls-client?raw`);
  assert.equal(await res.text(), "from-c1");
  const back = await fetch(`${good.base}/v1/kv/tls-client?raw&consistent`);
  assert.equal(await back.text(), "from-c1");
  // The server refuses plaintext on its RPC port with verify_incoming.
  const { connect } = await import("node:net");
  const plain = connect({ host: s1.bind, port: s1.serverPort });
  plain.write(Buffer.of(0x43));
  await new Promise<void>((resolve) => plain.once("close", () => resolve()).once("error", () => resolve()));
  await eventually("the plaintext refusal in the server's log", () => Promise.resolve(/Non-TLS connection attempted with VerifyIncoming set/.test(server.output())));
});

test("rpc tls cluster: a client agent with a certificate from another CA cannot use the RPC path, and says why", async () => {
  const res = await fetch(`${stranger.base}/v1/kv/tls-stranger`, { method: "PUT", body: "x", signal: AbortSignal.timeout(15_000) });
  assert.notEqual(res.status, 200);
  await res.arrayBuffer();
  await eventually("the stranger's log to name the TLS failure", () =>
    Promise.resolve(/certificate signed by unknown authority|unknown certificate authority|bad certificate/.test(stranger.proc.output())),
  );
  await eventually("the server's log to name the refused handshake", () => Promise.resolve(/rpc: failed to read byte: /.test(server.output())));
  // Nothing the stranger sent was written.
  const read = await fetch(`http://127.0.0.1:${servers[0].httpPort}/v1/kv/tls-stranger`);
  assert.equal(read.status, 404);
});
