import { readFileSync } from "node:fs";
import { runScaleClusterBench } from "./scale-cluster.ts";

// Same-run A/B of the cluster case C2 (issue 17): each bundle given (a copy of an older
// dist/consulate.mjs and the current one) runs the 3-server cluster in turn — register, the
// writer alone, the writer beside the heavy readers — and the C2 row is printed with the load
// average. Rounds alternate which bundle goes first so a shared machine's load falls on both.
//
//   npx tsx bench/scale-cluster-ab.ts <rounds> <seconds> <bundle.mjs>...

const [roundsArg, secondsArg, ...bundles] = process.argv.slice(2);
const rounds = Number(roundsArg);
const phaseSeconds = Number(secondsArg);
if (!Number.isInteger(rounds) || rounds <= 0 || !Number.isInteger(phaseSeconds) || phaseSeconds <= 0 || bundles.length === 0) {
  throw new Error("usage: scale-cluster-ab.ts <rounds> <seconds> <bundle.mjs>...");
}
const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? bundles : [...bundles].reverse();
  for (const bundle of order) {
    process.env.CONSULATE_BIN = bundle;
    const before = loadAverage();
    const rows = await runScaleClusterBench({ phaseSeconds, catchUp: false });
    for (const row of rows) {
      console.log(`round ${r + 1} ${bundle}: ${row.ratio} — ${row.agent}, ${row.bare}; load ${before} → ${loadAverage()}`);
      console.log(`  ${row.detail}`);
    }
  }
}
