import { coordinateScenario, crashScenario, lossScenario, partitionScenario, scalingScenario, slowMembersScenario } from "./scenarios.ts";
import type { ScenarioResult } from "./scenarios.ts";

// One seed = the full gossip suite: 1,000-member crash detection (+ restart, graceful leave
// and force-leave), 1,000 members at 10 % loss (+ join and user-event convergence),
// CPU-starved members, a partition that heals, and per-member traffic at two cluster sizes.
// A failure prints the seed so `npm run sim -- gossip --seeds N..N` replays it exactly.

export interface SuiteSize {
  readonly large: number;
  readonly small: number;
}

export const FULL_SIZE: SuiteSize = { large: 1_000, small: 200 };

type Scenario = () => ScenarioResult;

export function gossipScenarios(seed: number, size: SuiteSize = FULL_SIZE): Scenario[] {
  return [
    () => crashScenario(seed, size.large),
    () => lossScenario(seed, size.large, { lossRate: 0.1, durationMs: 45_000, tcpFallbackProbe: true }),
    // UDP-only loss raises hundreds of suspicions per minute (all refuted); kept short for CI time.
    () => lossScenario(seed, size.large, { lossRate: 0.1, durationMs: 20_000, tcpFallbackProbe: false }),
    () => slowMembersScenario(seed, size.small, Math.max(2, Math.floor(size.small / 50))),
    () => partitionScenario(seed, size.small),
    () => scalingScenario(seed, Math.floor(size.small / 2), size.large),
    () => coordinateScenario(seed, Math.max(30, Math.floor(size.small / 4)), 180_000),
  ];
}

export async function runGossipSeeds(from: number, to: number, log: (line: string) => void = console.log): Promise<boolean> {
  let ok = true;
  for (let seed = from; seed <= to; seed++) {
    const started = performance.now();
    for (const scenario of gossipScenarios(seed)) {
      const t0 = performance.now();
      const r = scenario();
      const status = r.failures.length === 0 ? "ok  " : "FAIL";
      const metrics = JSON.stringify(r.metrics, (_k, v: unknown) => (typeof v === "number" && !Number.isInteger(v) && Math.abs(v) > 1 ? Math.round(v) : v));
      log(`${status} SEED=${seed} ${r.name} (${((performance.now() - t0) / 1000).toFixed(1)} s) ${metrics}`);
      for (const f of r.failures) log(`     SEED=${seed} ${f}`);
      if (r.failures.length > 0) ok = false;
    }
    log(`seed ${seed} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // Yield between seeds so a caller's signals and output get through.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return ok;
}
