import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { KvSetCommand } from "../../../src/fsm/command.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import type { ApplyResult, Command } from "../../../src/fsm/command.ts";
import { NotLeaderError, RaftConsensus, type RaftConsensusOptions, type RaftPeer } from "../../../src/server/raft-consensus.ts";
import { StateStore } from "../../../src/state/store.ts";
import { freePort } from "../../support/agent-process.ts";

export interface ServerSpec {
  peer: RaftPeer;
  dir: string;
  raftPort: number;
}

export interface RunningServer {
  spec: ServerSpec;
  state: StateStore;
  consensus: RaftConsensus;
}

/** Three servers' identities, Raft ports and data dirs (ports picked free up front so each can name the others). */
export async function clusterSpecs(count: number): Promise<ServerSpec[]> {
  const root = mkdtempSync(join(tmpdir(), "raft-consensus-"));
  const specs: ServerSpec[] = [];
  for (let i = 1; i <= count; i++) {
    const raftPort = await freePort();
    specs.push({
      peer: { id: `0000000${i}-aaaa-4bbb-8ccc-00000000000${i}`, address: `127.0.0.1:${8300 + i}`, raftAddress: `127.0.0.1:${raftPort}` },
      dir: join(root, `server-${i}`),
      raftPort,
    });
  }
  return specs;
}

export async function startServer(spec: ServerSpec, all: readonly ServerSpec[], extra: Partial<RaftConsensusOptions> = {}): Promise<RunningServer> {
  const state = new StateStore();
  const consensus = await RaftConsensus.start({
    nodeId: spec.peer.id,
    serverAddress: spec.peer.address,
    storage: { kind: "disk", dir: spec.dir },
    raftBind: { host: "127.0.0.1", port: spec.raftPort },
    fsm: new StateMachine(state),
    peers: all.filter((s) => s !== spec).map((s) => s.peer),
    bootstrap: true,
    selfElect: false,
    tickMs: 50,
    electionTick: 10,
    heartbeatTick: 1,
    logger: silentLogger,
    ...extra,
  });
  return { spec, state, consensus };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function waitForLeader(servers: readonly RunningServer[]): Promise<RunningServer> {
  let leader: RunningServer | undefined;
  await waitFor("a leader known to every server", () => {
    leader = servers.find((s) => s.consensus.isLeader());
    return leader !== undefined && servers.every((s) => s.consensus.leaderAddress() === leader!.spec.peer.address);
  });
  return leader!;
}

export function kvSet(key: string, value: string, flags = 0n): KvSetCommand {
  return { Type: "kv-set", Op: "set", Key: key, Value: Buffer.from(value), Flags: flags, NowMs: 1 };
}

/**
 * Proposes through whichever server leads, as a client would: on a loaded machine leadership
 * may move mid-test, and a NotLeader answer means the write was not acknowledged (retry it).
 */
export async function proposeToLeader(servers: readonly RunningServer[], cmd: Command): Promise<{ index: number; result: ApplyResult }> {
  for (let attempt = 0; ; attempt++) {
    const leader = await waitForLeader(servers);
    try {
      return await leader.consensus.propose(cmd);
    } catch (err) {
      if (!(err instanceof NotLeaderError) || attempt >= 20) throw err;
    }
  }
}
