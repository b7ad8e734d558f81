// Real processes: a server and two client agents with tls.internal_rpc verify_incoming,
// verify_outgoing and verify_server_hostname. RPC runs over TLS on the server port (Raft over
// TLS between servers is covered with real sockets in test/unit/transport/server-port-tls.test.ts);
// a client agent whose certificate comes from another CA cannot use the RPC path, and its
// log and the server's say why.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";
import { serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { startClientAgent, startServer, tlsHcl, writeConfig, type ClientAgent } from "../support/tls-cluster.ts";
import { makePki, type PkiFiles } from "../support/tls-pki.ts";

let dir: string;
const procs: AgentProcess[] = [];
let s1: ServerSpec;
let server: AgentProcess;
let good: ClientAgent;
let stranger: ClientAgent;

const VERIFY_ALL = { verifyIncoming: true, verifyOutgoing: true, verifyServerHostname: true };
const config = (name: string, files: PkiFiles): string => writeConfig(dir, name, tlsHcl({ ca: files.ca, cert: files.cert, key: files.key, internalRpc: VERIFY_ALL }));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-rpc-tls-"));
  const pki = await makePki(dir, "cluster");
  s1 = await serverSpec("tls-s1", "127.0.0.1");
  const serverFiles = await pki.issue("server", "server-0");
  const clientFiles = await pki.issue("client", "client");
  const strangerFiles = await (await makePki(dir, "other")).issue("client", "client");
  // All three start at once (start-up dominates this file's time); joins retry quickly.
  [server, good, stranger] = await Promise.all([
    startServer(s1, 1, [], config(s1.name, serverFiles), procs),
    startClientAgent({ name: "tls-c1", bind: "127.0.0.3", join: s1, configFile: config("tls-c1", clientFiles), ready: "registered", dir, procs }),
    startClientAgent({ name: "tls-c2", bind: "127.0.0.4", join: s1, configFile: config("tls-c2", strangerFiles), ready: "serving", dir, procs }),
  ]);
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
  rmSync(s1.dataDir, { recursive: true, force: true });
});

test("rpc tls cluster: a client agent with a certificate from the CA writes and reads through the server over TLS RPC", async () => {
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
  const read = await fetch(`http://127.0.0.1:${s1.httpPort}/v1/kv/tls-stranger`);
  assert.equal(read.status, 404);
});
