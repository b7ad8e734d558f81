// `consulate exec -datacenter=<other>`: the local agent is no node of the other datacenter, so
// the job's session is created there bound to one of its servers, without checks and with a
// TTL the CLI renews (Consul's createSessionForeign); everything else goes through ?dc=.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { CommandIO } from "../../src/cli/command-io.ts";
import { execCommand } from "../../src/cli/exec.ts";
import { freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

let dc1: AgentProcess;
let dc2: AgentProcess;

before(async () => {
  const wanPort = await freePort();
  // Started side by side; dc2 keeps trying the WAN join until dc1 listens.
  [dc1, dc2] = await Promise.all([
    spawnDevAgent(["-node=one", "-datacenter=dc1", `-serf-wan-port=${wanPort}`]),
    spawnDevAgent(["-node=two", "-datacenter=dc2", `-retry-join-wan=127.0.0.1:${wanPort}`, "-retry-interval-wan=200ms", "-hcl=disable_remote_exec = false"]),
  ]);
  await eventually("dc2 reachable from dc1", async () => (await fetch(`${dc1.base}/v1/kv/x?dc=dc2`)).status === 404);
});

after(async () => {
  await dc2?.kill();
  await dc1?.kill();
});

void test("exec -datacenter - runs in the other datacenter through a session bound to one of its servers", async () => {
  let stdout = "";
  let stderr = "";
  const io: CommandIO = {
    stdout: { write: (c: string | Uint8Array) => (stdout += c.toString()) },
    stderr: { write: (c: string | Uint8Array) => (stderr += c.toString()) },
    stdin: (async function* () {})(),
    env: {},
  };
  const run = execCommand.run;
  assert.ok(run);
  const code = await run([`-http-addr=${dc1.base.replace("http://", "")}`, "-datacenter=dc2", "-verbose", "-wait=1s", "echo from-dc2"], io);
  assert.equal(code, 0, stdout + stderr);
  assert.match(stdout, /^Remote exec in foreign datacenter, using Session TTL$/m);
  assert.match(stdout, /^Binding session to remote node two@dc2$/m);
  assert.match(stdout, /^ {4}two: from-dc2$/m);
  assert.match(stdout, /^==> two: finished with exit code 0$/m);
  const sessions = (await (await fetch(`${dc2.base}/v1/session/list`)).json()) as unknown[];
  assert.deepEqual(sessions, [], "the session is destroyed");
  assert.equal((await fetch(`${dc2.base}/v1/kv/_rexec/?keys`)).status, 404, "the job tree is deleted");
});
