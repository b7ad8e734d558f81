// GET /v1/agent/monitor and `consulate monitor`: log lines as they happen, at the monitor's own
// level (finer than the agent's) and format.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { CONSULATE_BIN, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { eventually } from "../support/eventually.ts";

let agent: AgentProcess;
before(async () => {
  agent = await spawnDevAgent(["-log-level=info"]); // -dev alone logs at DEBUG, as Consul
});
after(async () => {
  await agent.kill();
});

/** Reads the monitor stream until `done` says enough, then hangs up. */
async function readMonitor(query: string, trigger: () => Promise<void>, done: (text: string) => boolean): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(`${agent.base}/v1/agent/monitor${query}`, { signal: abort.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = "";
  await trigger();
  const deadline = Date.now() + 10_000;
  while (!done(text) && Date.now() < deadline) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += Buffer.from(value).toString();
  }
  abort.abort();
  return text;
}

void test("monitor - streams debug lines the INFO agent does not print, as text or JSON; a bad level is a 400", async () => {
  const put = async (): Promise<void> => void (await (await fetch(`${agent.base}/v1/kv/monitored`, { method: "PUT", body: "x" })).text());
  const text = await readMonitor("?loglevel=debug", put, (t) => t.includes("url=/v1/kv/monitored"));
  assert.match(text, /\[DEBUG\] agent\.http: Request finished: method=PUT url=\/v1\/kv\/monitored from=127\.0\.0\.1:\d+/);
  assert.doesNotMatch(agent.output(), /Request finished/, `the agent own output stays at INFO:\n${agent.output()}`);

  const json = await readMonitor("?loglevel=debug&logjson", put, (t) => t.includes("/v1/kv/monitored"));
  const line = json.split("\n").find((l) => l.includes("/v1/kv/monitored"));
  assert.ok(line, json);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.equal(parsed["@level"], "debug");
  assert.equal(parsed["@module"], "agent.http");
  assert.equal(parsed["@message"], "Request finished");

  const bad = await fetch(`${agent.base}/v1/agent/monitor?loglevel=loud`);
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), "Unknown log level: loud");
});

void test("monitor - `consulate monitor -log-level=debug` prints lines as they come and exits 0 on interrupt", async () => {
  const child = spawn(process.execPath, [CONSULATE_BIN, "monitor", "-log-level=debug", `-http-addr=127.0.0.1:${agent.httpPort}`], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await eventually("monitor lines", async () => {
      await (await fetch(`${agent.base}/v1/kv/from-cli`, { method: "PUT", body: "y" })).text();
      return out.includes("url=/v1/kv/from-cli");
    }, 15_000, 300);
    child.kill("SIGINT");
    assert.equal(await exited, 0, out);
  } finally {
    child.kill("SIGKILL");
  }
});
