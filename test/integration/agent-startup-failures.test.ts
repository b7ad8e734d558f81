// Start-up failures of the real process: each must end the agent with exit 1 and Consul's
// `==> Error starting agent: …` line, never a hang, a spin or a silent work-around.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort, spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

const EXIT_BOUND_MS = 15_000;
const running: AgentProcess[] = [];
after(async () => {
  for (const a of running) await a.kill();
});

function run(args: string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_BOUND_MS);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

async function devPorts(): Promise<{ http: number; lan: number; wan: number; server: number }> {
  return { http: await freePort(), lan: await freePort(), wan: await freePort(), server: await freePort() };
}

function devArgs(p: { http: number; lan: number; wan: number; server: number }): string[] {
  return ["agent", "-dev", `-http-port=${p.http}`, "-dns-port=-1", `-serf-lan-port=${p.lan}`, `-serf-wan-port=${p.wan}`, `-server-port=${p.server}`];
}

for (const which of ["http", "lan", "wan", "server"] as const) {
  void test(`agent: a taken ${which} port fails the start with exit 1 and releases every port`, async () => {
    const ports = await devPorts();
    const blocker = await occupy(ports[which]);
    try {
      const { code, out } = await run(devArgs(ports));
      assert.equal(code, 1, out);
      const bind = `listen tcp 127.0.0.1:${ports[which]}: bind: address already in use`;
      const expected = {
        http: `==> Error starting agent: ${bind}`,
        lan: `==> Error starting agent: Failed to start Consul server: Failed to start LAN Serf: Failed to create memberlist: Could not set up network transport: failed to obtain an address: Failed to start TCP listener on "127.0.0.1" port ${ports.lan}: ${bind}`,
        wan: `==> Error starting agent: Failed to start Consul server: Failed to start WAN Serf: Failed to create memberlist: Could not set up network transport: failed to obtain an address: Failed to start TCP listener on "127.0.0.1" port ${ports.wan}: ${bind}`,
        server: `==> Error starting agent: Failed to start Consul server: Failed to start RPC layer: ${bind}`,
      }[which];
      assert.ok(out.includes(expected), out);
      assert.doesNotMatch(out, /Consul agent running!/);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    // Nothing the failed agent opened is still held: every port binds again.
    for (const port of Object.values(ports)) {
    const again = await occupy(port);
    await new Promise<void>((r) => again.close(() => r()));
  }
  });
}

void test("agent: a data dir whose mkdir keeps failing exits 1 naming the path", async () => {
  const ports = await devPorts();
  const args = devArgs(ports).filter((a) => a !== "-dev");
  const { code, out, ms } = await run([...args, "-server", "-bootstrap", "-bind=127.0.0.1", "-data-dir=/proc/consulate-x/data"]);
  assert.equal(code, 1, out);
  assert.ok(ms < EXIT_BOUND_MS, `took ${ms} ms`);
  assert.match(out, /==> Error starting agent: mkdir \/proc\/consulate-x: no such file or directory/);
});

void test("join: an address that refuses and a name that does not resolve are reported as Consul does", async () => {
  const agent = await spawnDevAgent();
  running.push(agent);
  const lanPort = /LAN: (\d+)/.exec(agent.output())?.[1];
  const refused = await run(["join", `-http-addr=127.0.0.1:${agent.httpPort}`, "127.0.0.99"]);
  assert.equal(refused.code, 1);
  assert.ok(refused.out.includes(`* Failed to join 127.0.0.99:${lanPort}: dial tcp 127.0.0.99:${lanPort}: connect: connection refused`), refused.out);
  const unknown = await run(["join", `-http-addr=127.0.0.1:${agent.httpPort}`, "nonexistent.invalid"]);
  assert.equal(unknown.code, 1);
  assert.ok(unknown.out.includes("* Failed to resolve nonexistent.invalid: lookup nonexistent.invalid: no such host"), unknown.out);
  assert.doesNotMatch(refused.out + unknown.out, /no answer to the gossip state exchange/);
  await agent.kill();
});

void test("README: the cluster snippet works when pasted, with the addresses changed in one place", async () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const snippet = /## A cluster[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(snippet, "README has a cluster snippet");
  const net = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const data = mkdtempSync(join(tmpdir(), "consulate-readme-"));
  const lines = snippet.split("\n");
  assert.match(lines[0] ?? "", /^S1=\S+ S2=\S+ S3=\S+ C1=\S+$/);
  assert.match(lines[1] ?? "", /^DATA=/);
  lines[0] = `S1=${net}.1 S2=${net}.2 S3=${net}.3 C1=${net}.4`;
  lines[1] = `DATA=${data}`;
  // `npx consulate` of an installed package is this repository's launcher here.
  const script = [`npx() { shift; node ${JSON.stringify(CONSULATE_BIN)} "$@"; }`, "set -e", ...lines].join("\n");
  const child = spawn("bash", ["-c", script], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    const done = await new Promise<boolean>((resolve) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        resolve(false);
      }, 60_000);
      const check = (): void => {
        if (timedOut) return; // a failed run must not leave this loop keeping the process alive
        // curl prints the value with no newline, so an agent's log line may follow it directly.
        if (/\bworld/.test(out.split("true").slice(1).join("true"))) {
          clearTimeout(timer);
          resolve(true);
        } else setTimeout(check, 200);
      };
      check();
    });
    assert.ok(done, out);
    assert.match(out, new RegExp(`c1\\s+${net.replaceAll(".", "\\.")}\\.4:8301\\s+alive\\s+client`));
    for (const s of ["s1", "s2", "s3"]) assert.match(out, new RegExp(`${s}\\s+\\S+:8301\\s+alive\\s+server`));
  } finally {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }
});
