import type { ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import { spawnAgent, type AgentProcess } from "../../test/support/agent-process.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../../test/support/server-cluster.ts";

// Real durable server processes for the chaos cases: a 3-server cluster started as Consul
// users start one (-bootstrap-expect 3, -retry-join over LAN gossip), or a single server
// (-bootstrap-expect 1). Every process is tracked so a case's teardown kills what it started,
// including one left SIGSTOPped.

export interface Member {
  spec: ServerSpec;
  /** Undefined while the process is down (killed and not restarted). */
  proc: AgentProcess | undefined;
  /** True between SIGSTOP and SIGCONT. */
  stopped: boolean;
}

const START_TIMEOUT_MS = 60_000;

/** Every agent process spawned and not yet exited, so an interrupted run (Ctrl-C) leaves none behind. */
const liveChildren = new Set<ChildProcess>();

/** Tracks `child` until it exits. */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
}

/** SIGKILLs every agent process still running (SIGCONT first for paused ones); synchronous. */
export function killAllAgentsNow(): void {
  for (const child of liveChildren) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
}

export class ServerGroup {
  readonly members: Member[];
  readonly #expect: number;
  readonly #extraArgs: readonly string[];

  private constructor(specs: ServerSpec[], extraArgs: readonly string[]) {
    this.members = specs.map((spec) => ({ spec, proc: undefined, stopped: false }));
    this.#expect = specs.length;
    this.#extraArgs = extraArgs;
  }

  /** `count` servers on 127.0.0.1…count, each with its own fresh data dir. */
  static async create(label: string, count: number, extraArgs: readonly string[] = []): Promise<ServerGroup> {
    const specs: ServerSpec[] = [];
    for (let i = 0; i < count; i++) specs.push(await serverSpec(`chaos-${label}-${i + 1}`, `127.0.0.${i + 1}`));
    return new ServerGroup(specs, extraArgs);
  }

  argsOf(member: Member): string[] {
    const others = this.#expect > 1 ? this.members.map((m) => m.spec) : [];
    return serverArgs(member.spec, this.#expect, others, this.#extraArgs);
  }

  async start(member: Member): Promise<AgentProcess> {
    // Ready = the HTTP API answers; a server waiting for its peers answers with "" as leader.
    member.proc = await spawnAgent(this.argsOf(member), { httpPort: member.spec.httpPort, timeoutMs: START_TIMEOUT_MS, onSpawn: trackChild });
    member.stopped = false;
    return member.proc;
  }

  async startAll(): Promise<void> {
    await this.start(this.members[0]);
    await Promise.all(this.members.slice(1).map((m) => this.start(m)));
    await this.waitForLeader(START_TIMEOUT_MS);
  }

  running(): AgentProcess[] {
    return this.members.filter((m) => m.proc !== undefined && !m.stopped).map((m) => m.proc as AgentProcess);
  }

  rpcAddress(member: Member): string {
    return `${member.spec.bind}:${member.spec.serverPort}`;
  }

  /** The member every running, unpaused server names as leader, when they agree. */
  async agreedLeader(): Promise<Member | undefined> {
    const procs = this.running();
    if (procs.length === 0) return undefined;
    const answers = await Promise.all(
      procs.map(async (p) => {
        try {
          const res = await fetch(`${p.base}/v1/status/leader`, { signal: AbortSignal.timeout(2000) });
          return res.status === 200 ? ((await res.json()) as string) : "";
        } catch {
          return "";
        }
      }),
    );
    if (answers[0] === "" || !answers.every((a) => a === answers[0])) return undefined;
    return this.members.find((m) => this.rpcAddress(m) === answers[0]);
  }

  async waitForLeader(timeoutMs: number, not?: Member): Promise<Member> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const leader = await this.agreedLeader();
      if (leader !== undefined && leader !== not && leader.proc !== undefined && !leader.stopped) return leader;
      if (performance.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill9(member: Member): Promise<void> {
    const proc = member.proc;
    member.proc = undefined;
    member.stopped = false;
    if (proc) await proc.kill("SIGKILL");
  }

  pause(member: Member): void {
    member.proc?.child.kill("SIGSTOP");
    member.stopped = true;
  }

  resume(member: Member): void {
    member.proc?.child.kill("SIGCONT");
    member.stopped = false;
  }

  /** Kills every process (SIGCONT first, so a paused one can die) and removes the data dirs. */
  async destroy(): Promise<void> {
    for (const m of this.members) {
      if (m.proc && m.stopped) m.proc.child.kill("SIGCONT");
      await this.kill9(m);
    }
    for (const m of this.members) await rm(m.spec.dataDir, { recursive: true, force: true });
  }
}
