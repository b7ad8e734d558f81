import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runGossipSeeds } from "../test/sim/gossip/run-seeds.ts";

// `npm run sim -- gossip --seeds A..B` lands here (dispatched by scripts/sim.ts); also runnable
// alone: `npx tsx scripts/sim-gossip.ts --seeds 1..3`. Exit code 1 on any failed seed.

export { runGossipSeeds };

export function parseSeedRange(args: readonly string[]): { from: number; to: number } {
  const at = args.indexOf("--seeds");
  const raw = at >= 0 ? args[at + 1] : "1..1";
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(raw ?? "");
  if (!match) throw new Error(`--seeds expects A..B or N, got ${raw}`);
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (to < from) throw new Error(`--seeds range ${raw} is backwards`);
  return { from, to };
}

// Compared as real paths: the URL form percent-encodes (a checkout path with a space) and the
// module's URL is its real path (a symlinked checkout); either made a run silently do nothing.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { from, to } = parseSeedRange(process.argv.slice(2));
  const ok = await runGossipSeeds(from, to);
  process.exitCode = ok ? 0 : 1;
}
