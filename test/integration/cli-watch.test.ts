import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";
import { runWatch } from "../../src/cli/watch.ts";
import { captureIO } from "../unit/cli/fake-consul.ts";

// `consulate watch` in-process against a real agent, with a short blocking wait so several
// wait timeouts happen while the data stands still.

let agent: AgentProcess;
let dir: string;
before(async () => {
  agent = await spawnDevAgent();
  dir = await mkdtemp(join(tmpdir(), "cli-watch-"));
});
after(async () => {
  await agent?.kill();
  await rm(dir, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(key: string, value: string): Promise<void> {
  const res = await fetch(`${agent.base}/v1/kv/${key}`, { method: "PUT", body: value });
  assert.equal(res.status, 200);
}

async function lines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, "utf8")).trim().split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await pause(50);
  }
}

void test("watch - the handler fires exactly once per real change, never on wait timeouts", async () => {
  const file = join(dir, "key.log");
  await put("w/cfg", "one");
  const io = captureIO({ CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}` });
  const stop = new AbortController();
  const running = runWatch(["-type=key", "-key=w/cfg", `echo "$CONSUL_INDEX $(cat)" >> ${file}`], io, stop.signal, { waitMs: 200 });

  await waitFor(async () => (await lines(file)).length === 1);
  await pause(1200); // several 200 ms waits expire with an unchanged index
  assert.equal((await lines(file)).length, 1, io.err());

  await put("w/cfg", "two");
  await waitFor(async () => (await lines(file)).length === 2);
  await put("w/other", "unrelated"); // moves the store index, not this key's
  await pause(800);
  assert.equal((await lines(file)).length, 2);

  await put("w/cfg", "three");
  await waitFor(async () => (await lines(file)).length === 3);
  await pause(600);
  stop.abort();
  assert.equal(await running, 0);

  const seen = await lines(file);
  assert.equal(seen.length, 3, io.err());
  const values = seen.map((line) => {
    const [index, json] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)];
    const pair = JSON.parse(json) as { Value: string; ModifyIndex: number };
    assert.equal(String(pair.ModifyIndex), index, "CONSUL_INDEX is the index of the change");
    return Buffer.from(pair.Value, "base64").toString();
  });
  assert.deepEqual(values, ["one", "two", "three"]);
});

void test("watch - keyprefix fires on each change under the prefix", async () => {
  const file = join(dir, "prefix.log");
  const io = captureIO({ CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}` });
  const stop = new AbortController();
  const running = runWatch(["-type=keyprefix", "-prefix=tree/", `cat >> ${file}; echo >> ${file}`], io, stop.signal, { waitMs: 200 });
  await waitFor(async () => (await lines(file)).length === 1);
  assert.equal((await lines(file))[0], "null", "nothing under the prefix yet");
  await put("tree/a", "1");
  await waitFor(async () => (await lines(file)).length === 2);
  await pause(600);
  stop.abort();
  assert.equal(await running, 0);
  const last = JSON.parse((await lines(file))[1]) as { Key: string }[];
  assert.deepEqual(
    last.map((p) => p.Key),
    ["tree/a"],
  );
});

void test("watch - event watch hands over only new events", async () => {
  const file = join(dir, "event.log");
  const io = captureIO({ CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}` });
  const stop = new AbortController();
  const running = runWatch(["-type=event", "-name=ping", `cat >> ${file}; echo >> ${file}`], io, stop.signal, { waitMs: 200 });
  await waitFor(async () => (await lines(file)).length === 1);
  const fired = await fetch(`${agent.base}/v1/event/fire/ping`, { method: "PUT", body: "p1" });
  const { ID } = (await fired.json()) as { ID: string };
  await waitFor(async () => (await lines(file)).length === 2);
  await pause(600);
  stop.abort();
  assert.equal(await running, 0);
  const events = JSON.parse((await lines(file))[1]) as { ID: string; Payload: string }[];
  assert.deepEqual(
    events.map((e) => [e.ID, Buffer.from(e.Payload, "base64").toString()]),
    [[ID, "p1"]],
  );
});
