import { test } from "node:test";
import assert from "node:assert/strict";
import { runSeed } from "./cluster.ts";

test("raft simulator - a handful of seeds keep every invariant and a linearizable KV history", () => {
  for (let seed = 1; seed <= 8; seed++) {
    const res = runSeed(seed);
    assert.equal(res.ok, true, `SEED=${seed}: ${res.error} (replay: npm run sim -- raft --seeds ${seed} --trace)`);
    assert.ok(res.stats.completedOps > 50, `SEED=${seed} served clients`);
  }
});

test("raft simulator - a seed replays exactly (same trace, same history)", () => {
  const run = (): { trace: string[]; stats: string } => {
    const trace: string[] = [];
    const res = runSeed(7, { faultMs: 1500, healMs: 1000, trace: (l) => trace.push(l) });
    return { trace, stats: JSON.stringify(res.stats) };
  };
  const a = run();
  const b = run();
  assert.ok(a.trace.length > 5);
  assert.deepEqual(a.trace, b.trace);
  assert.equal(a.stats, b.stats);
});
