// `consulate exec` end to end: a dev server that allows remote exec (disable_remote_exec =
// false) and a client agent left at the default (disabled) in one LAN pool. The job reaches
// both through the `_rexec` event; only the server runs it, writes ack/output/exit under
// _rexec/<session>/<node>/, and the CLI prints per node, propagates a failing exit code as
// status 2 and cleans the KV tree and the session up.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCommand } from "../../src/cli/exec.ts";
import type { CommandIO } from "../../src/cli/command-io.ts";
import { freePort, spawnAgent, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

let server: AgentProcess;
let client: AgentProcess;
let dataDir: string;

before(async () => {
  const serfPort = await freePort();
  server = await spawnDevAgent([`-serf-lan-port=${serfPort}`, "-node=exec-on", "-hcl=disable_remote_exec = false"]);
  dataDir = await mkdtemp(join(tmpdir(), "consulate-exec-"));
  const httpPort = await freePort();
  client = await spawnAgent(
    [`-retry-join=127.0.0.1:${serfPort}`, `-data-dir=${dataDir}`, "-bind=127.0.0.1", "-node=exec-off", `-http-port=${httpPort}`, "-dns-port=-1", `-server-port=${await freePort()}`, `-serf-lan-port=${await freePort()}`],
    {
      httpPort,
      ready: async (base) => {
        const res = await fetch(`${base}/v1/catalog/node/exec-off`);
        return res.status === 200 && (await res.json()) !== null;
      },
    },
  );
  await eventually("both agents in the server's LAN pool", async () => {
    const members = (await (await fetch(`${server.base}/v1/agent/members`)).json()) as { Name: string; Status: number }[];
    return members.filter((m) => m.Status === 1).length === 2;
  });
});

after(async () => {
  await client?.kill();
  await server?.kill();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Runs the command in this process (the agents are the processes under test). */
async function exec(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CommandIO = {
    stdout: { write: (c: string | Uint8Array) => (stdout += c.toString()) },
    stderr: { write: (c: string | Uint8Array) => (stderr += c.toString()) },
    stdin: (async function* () {
      if (stdin !== undefined) yield Buffer.from(stdin);
    })(),
    env: {},
  };
  const run = execCommand.run;
  assert.ok(run);
  const code = await run([`-http-addr=${server.base.replace("http://", "")}`, "-wait=1s", ...args], io);
  return { code, stdout, stderr };
}

async function rexecLeftovers(): Promise<{ keys: number; sessions: number }> {
  const keys = await fetch(`${server.base}/v1/kv/_rexec/?keys`);
  const sessions = (await (await fetch(`${server.base}/v1/session/list`)).json()) as unknown[];
  return { keys: keys.status === 404 ? 0 : ((await keys.json()) as unknown[]).length, sessions: sessions.length };
}

void test("exec - runs on the agent that allows it, prints output per node, exit code 3 makes the CLI exit 2, and cleans up", async () => {
  const run = await exec(["-verbose", "echo hello; echo oops >&2; exit 3"]);
  assert.equal(run.code, 2, run.stdout + run.stderr);
  assert.match(run.stdout, /^Created remote execution session: [0-9a-f-]{36}$/m);
  assert.match(run.stdout, /^==> exec-on: acknowledged$/m);
  assert.match(run.stdout, /^ {4}exec-on: hello\n {4}exec-on: oops\n {4}exec-on:\n==> exec-on: finished with exit code 3$/m);
  assert.match(run.stdout, /^1 \/ 1 node\(s\) completed \/ acknowledged$/m);
  assert.doesNotMatch(run.stdout, /exec-off/, "the agent with disable_remote_exec = true does not run the job");
  assert.deepEqual(await rexecLeftovers(), { keys: 0, sessions: 0 });
  await eventually("the disabled agent logged that it ignored the job", () => Promise.resolve(/ignoring remote exec event, disabled\./.test(client.output())));
  // Jobs are not user events an operator lists.
  const events = (await (await fetch(`${server.base}/v1/event/list`)).json()) as unknown[];
  assert.deepEqual(events, []);
});

void test("exec - a script from stdin exiting 0 gives status 0; a node filter matching only the disabled agent finds no one", async () => {
  const script = await exec(["-"], "echo from-script\n");
  assert.equal(script.code, 0, script.stdout + script.stderr);
  assert.match(script.stdout, /^ {4}exec-on: from-script$/m);
  assert.match(script.stdout, /^==> exec-on: finished with exit code 0$/m);

  const none = await exec(["-node=^exec-off$", "true"]);
  assert.equal(none.code, 0, none.stdout + none.stderr);
  assert.equal(none.stdout, "0 / 0 node(s) completed / acknowledged\n");
  assert.deepEqual(await rexecLeftovers(), { keys: 0, sessions: 0 });
});

void test("exec - argument errors are reported before anything is written", async () => {
  const missing = await exec([]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Must specify a command to execute$/m);
  const tag = await exec(["-tag=x", "true"]);
  assert.equal(tag.code, 1);
  assert.match(tag.stderr, /^Cannot provide tag filter without service filter\.$/m);
  const stdinNoShell = await exec(["-shell=false", "-"]);
  assert.equal(stdinNoShell.code, 1);
  assert.match(stdinNoShell.stderr, /^Cannot configure -shell=false when reading from stdin$/m);
});
