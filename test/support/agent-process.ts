import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, statSync, utimesSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CONSULATE_BIN = fileURLToPath(new URL("../../bin/consulate.js", import.meta.url));

/** Ports this process has handed out: a port is free again once its probe closes, so the OS may
 * offer the same one twice in a row (an agent's HTTP and serf ports then collide). */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probeFreePort();
    if (!handedOut.has(port) && claimAcrossProcesses(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Test files run two at a time in separate processes, and a probed port stays unbound until
 * the agent binds it: both processes could hand out the same port in that window (a full CI
 * run once failed an agent's DNS bind with EADDRINUSE that way). A claim is a file created
 * with O_EXCL, so only one process gets a port; claims older than CLAIM_TTL_MS are stale.
 */
const CLAIM_DIR = join(tmpdir(), "consulate-test-ports");
const CLAIM_TTL_MS = 10 * 60_000;

function claimAcrossProcesses(port: number): boolean {
  mkdirSync(CLAIM_DIR, { recursive: true });
  const path = join(CLAIM_DIR, String(port));
  try {
    closeSync(openSync(path, "wx"));
    return true;
  } catch {
    try {
      if (Date.now() - statSync(path).mtimeMs < CLAIM_TTL_MS) return false;
      const now = new Date();
      utimesSync(path, now, now);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A port below Linux's ephemeral range (32768–60999): a port the OS picked for us there could be
 * taken by any outgoing connection's local end between the probe and the agent's bind, which
 * happened under a full test run. Random picks here only collide with another test process's
 * pick, which the bind probe catches while it is listening.
 */
const LOW_PORT_MIN = 10_000;
const LOW_PORT_MAX = 32_000;

function probeFreePort(): Promise<number> {
  const port = LOW_PORT_MIN + Math.floor(Math.random() * (LOW_PORT_MAX - LOW_PORT_MIN));
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(probeFreePort()));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(port)));
  });
}

export interface AgentProcess {
  child: ChildProcess;
  httpPort: number;
  base: string;
  output(): string;
  /** Resolves with the exit code (or null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `consulate agent -dev` on free ports and waits until its HTTP API answers. */
export async function spawnDevAgent(extraArgs: string[] = [], options: { timeoutMs?: number } = {}): Promise<AgentProcess> {
  const httpPort = await freePort();
  const dnsPort = await freePort();
  // A taken serf or server port fails the start (as in Consul), so every port is a free one.
  const ports = [`-serf-lan-port=${await freePort()}`, `-serf-wan-port=${await freePort()}`, `-server-port=${await freePort()}`];
  return spawnAgent(["-dev", `-http-port=${httpPort}`, `-dns-port=${dnsPort}`, ...ports, ...extraArgs], { httpPort, timeoutMs: options.timeoutMs });
}

export interface SpawnAgentOptions {
  /** The agent's HTTP port (already part of `args` as -http-port); the API is polled there. */
  httpPort: number;
  /** HTTP host the API is polled at (default 127.0.0.1). */
  httpHost?: string;
  timeoutMs?: number;
  /** Readiness check against the HTTP base URL; default: /v1/status/leader answers 200. */
  ready?: (base: string) => Promise<boolean>;
  /** Called with the child as soon as it is spawned, before it is ready (for cleanup on interrupt). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Spawns `consulate agent <args>` (the caller picks every flag) and waits until it is ready. */
export async function spawnAgent(args: string[], options: SpawnAgentOptions): Promise<AgentProcess> {
  const child = spawn(process.execPath, [CONSULATE_BIN, "agent", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  options.onSpawn?.(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const proc: AgentProcess = {
    child,
    httpPort: options.httpPort,
    base: `http://${options.httpHost ?? "127.0.0.1"}:${options.httpPort}`,
    output: () => out,
    exited,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const ready =
    options.ready ??
    (async (base: string) => {
      const res = await fetch(`${base}/v1/status/leader`);
      await res.arrayBuffer();
      return res.status === 200;
    });
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent exited early (${child.exitCode}):\n${out}`);
    try {
      if (await ready(proc.base)) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`agent did not become ready in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
