import { Agent, type AgentCheckSettings } from "../../../src/agent/agent.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { StateStore } from "../../../src/state/store.ts";
import type { RegistrationStore } from "../../../src/storage/agent-registrations.ts";
import { manualClock, type ManualClock } from "../agent/fake-clock.ts";

/** An agent over an in-memory log and a manual clock, optionally persisting registrations. */
export interface AgentRig {
  agent: Agent;
  state: StateStore;
  clock: ManualClock;
}

export const RIG_NODE = "node-a";

export async function startAgentRig(options: { checkSettings?: Partial<AgentCheckSettings>; registrations?: RegistrationStore } = {}): Promise<AgentRig> {
  const clock = manualClock();
  const state = new StateStore();
  const consensus = new LocalLog(new StateMachine(state), { serverAddress: "127.0.0.1:8300" });
  const agent = new Agent({
    identity: {
      nodeName: RIG_NODE,
      nodeId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      datacenter: "dc1",
      server: true,
      advertiseAddr: "127.0.0.1",
      serverPort: 8300,
      serfLanPort: 8301,
      nodeMeta: {},
      version: "1.20.0",
    },
    consensus,
    state,
    clock,
    rng: seededRng(11),
    logger: silentLogger,
    checkSettings: options.checkSettings,
    registrations: options.registrations,
  });
  await agent.start();
  await agent.syncChanges();
  return { agent, state, clock };
}

/** Lets pending promise chains (syncs, probe results) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function catalogCheck(state: StateStore, checkId: string): { Status: string; Output: string } | undefined {
  return state.catalog.nodeChecks(RIG_NODE).find((c) => c.CheckID === checkId);
}
