import { Agent, type AgentCheckSettings } from "../../../src/agent/agent.ts";
import { decodeServiceDefinition } from "../../../src/agent/service-definition.ts";
import { decodeCheckDefinition } from "../../../src/agent/check-definition.ts";
import type { ServiceDefinition } from "../../../src/agent/service-definition.ts";
import type { CheckDefinition } from "../../../src/checks/definition.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { StateStore } from "../../../src/state/store.ts";
import type { RegistrationStore } from "../../../src/storage/agent-registrations.ts";
import { manualClock, type ManualClock } from "./fake-clock.ts";
import type { SidecarPortRange } from "../../../src/agent/sidecar-service.ts";

/** An Agent over an in-memory log and a manual clock: timers move only when the test says. */
export interface AgentHarness {
  agent: Agent;
  state: StateStore;
  clock: ManualClock;
  consensus: LocalLog;
}

export const NODE = "node-a";

export interface HarnessOptions {
  checkSettings?: Partial<AgentCheckSettings>;
  /** Persists API registrations, as `-data-dir` does; none = they live as long as the agent. */
  registrations?: RegistrationStore;
  /** Seeds check staggering and sync jitter, which tests' clock steps are written against. */
  rngSeed?: number;
  sidecarPorts?: SidecarPortRange;
  /** Slice budget of a registration's check work; 0 pauses at every step. */
  registrationSliceMs?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<AgentHarness> {
  const clock = manualClock();
  const state = new StateStore();
  const consensus = new LocalLog(new StateMachine(state), { serverAddress: "127.0.0.1:8300" });
  const agent = new Agent({
    identity: {
      nodeName: NODE,
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
    rng: seededRng(options.rngSeed ?? 7),
    logger: silentLogger,
    checkSettings: options.checkSettings,
    registrations: options.registrations,
    sidecarPorts: options.sidecarPorts,
    registrationSliceMs: options.registrationSliceMs,
  });
  await agent.start();
  await agent.syncChanges();
  return { agent, state, clock, consensus };
}

/** Lets pending promise chains (async syncs and probe results started by timers) run to completion. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function service(body: Record<string, unknown>): ServiceDefinition {
  return decodeServiceDefinition(body);
}

export function check(body: Record<string, unknown>): CheckDefinition {
  return decodeCheckDefinition(body);
}

export function catalogCheck(state: StateStore, checkId: string): { Status: string; Output: string } | undefined {
  return state.catalog.nodeChecks(NODE).find((c) => c.CheckID === checkId);
}
