import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { CatalogRegisterCommand } from "../../../src/fsm/command.ts";
import { startServer, type ServerSpec } from "./raft-consensus-harness.ts";

// One Raft server in a process of its own, for large-command-stall.test.ts: each server
// measures how long its own event loop was held, which servers sharing one process could not
// tell apart. Driven by JSON lines on stdin, answering one JSON line per request on stdout.

export interface ChildRequest {
  op: "status" | "build" | "measure" | "propose" | "report";
  /** build and propose: the registration's node name; build: how many checks it carries. */
  node?: string;
  checks?: number;
}

export function wideRegister(node: string, checks: number): CatalogRegisterCommand {
  return {
    Type: "catalog-register",
    Node: { ID: "", Node: node, Address: "10.1.2.3", Datacenter: "dc1", TaggedAddresses: {}, Meta: { rack: "r1" } },
    SkipNodeUpdate: false,
    Checks: Array.from({ length: checks }, (_, i) => ({
      Node: node,
      CheckID: `check-${i}`,
      Name: `check number ${i}`,
      Status: "passing",
      Notes: "registered in one request",
      Output: `output of check ${i}`,
      ServiceID: "",
      ServiceName: "",
      ServiceTags: [],
      Type: "",
      Definition: {},
      Interval: "",
      Timeout: "",
      ExposedPort: 0,
    })),
    NowMs: 1,
  };
}

/**
 * CPU time the calling (main) thread has run, in ms: Linux's per-thread schedstat, so neither
 * other processes on a busy machine nor V8's background GC threads count.
 */
function mainThreadCpuMs(): number {
  return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
}

/**
 * The longest the event loop was held, from the gaps between firings of a 1 ms timer, in CPU
 * time the main thread ran during each gap, not wall time: on a machine shared with many busy
 * processes a 4 ms slice can take 40 ms of wall time while the process waits for a core, which
 * says nothing about how long this process kept its own loop busy.
 */
export class StallProbe {
  #lastWall = performance.now();
  #lastCpu = mainThreadCpuMs();
  cpuMs = 0;
  wallMs = 0;
  readonly #timer = setInterval(() => {
    const wall = performance.now();
    const cpu = mainThreadCpuMs();
    this.cpuMs = Math.max(this.cpuMs, cpu - this.#lastCpu);
    this.wallMs = Math.max(this.wallMs, wall - this.#lastWall);
    this.#lastWall = wall;
    this.#lastCpu = cpu;
  }, 1);

  stop(): { cpuMs: number; wallMs: number } {
    clearInterval(this.#timer);
    return { cpuMs: this.cpuMs, wallMs: this.wallMs };
  }
}

async function main(): Promise<void> {
  const { self, all } = JSON.parse(process.argv[2]) as { self: ServerSpec; all: ServerSpec[] };
  const server = await startServer(self, all, { tickMs: 100 });
  const built = new Map<string, CatalogRegisterCommand>();
  let probe: StallProbe | undefined;
  const answer = (value: unknown): void => {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  answer({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    const req = JSON.parse(line) as ChildRequest;
    switch (req.op) {
      case "status":
        answer({ leader: server.consensus.isLeader(), applied: server.consensus.appliedIndex() });
        break;
      case "build":
        built.set(req.node ?? "", wideRegister(req.node ?? "", req.checks ?? 1));
        answer({ built: built.size });
        break;
      case "measure":
        probe = new StallProbe();
        answer({ measuring: true });
        break;
      case "propose": {
        const cmd = built.get(req.node ?? "");
        if (!cmd) throw new Error(`no registration built for ${String(req.node)}`);
        try {
          const { index, result } = await server.consensus.propose(cmd);
          answer({ index, result });
        } catch (err) {
          answer({ error: err instanceof Error ? err.message : String(err) });
        }
        break;
      }
      case "report": {
        const stall = probe?.stop() ?? { cpuMs: -1, wallMs: -1 };
        const nodes: Record<string, number> = {};
        for (const node of server.state.catalog.listNodes()) nodes[node.Node] = server.state.catalog.nodeChecks(node.Node).length;
        answer({ stall, nodes });
        break;
      }
    }
  }
  await server.consensus.close();
}

// Run as a program (the test spawns it), not when the test imports its helpers.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
