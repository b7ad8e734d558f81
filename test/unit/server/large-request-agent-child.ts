import { createInterface } from "node:readline";
import { startTestAgent } from "../../support/test-agent.ts";
import { StallProbe } from "./large-command-server-child.ts";

// One agent (a lone server on Raft in memory, as -dev runs, or on the LocalLog) in a process of
// its own, for large-command-stall.test.ts: it measures how long its own event loop was held
// while the test sends it the largest bodies its endpoints accept. Driven by JSON lines on
// stdin ("measure", "report"), answering one JSON line each on stdout; the first line is its
// HTTP address.

const consensus = process.argv[2] === "local" ? "local" : "raft";
const agent = await startTestAgent({}, { consensus });
let probe: StallProbe | undefined;
const answer = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
answer({ base: agent.base });
for await (const line of createInterface({ input: process.stdin })) {
  const op = (JSON.parse(line) as { op: string }).op;
  if (op === "measure") {
    probe = new StallProbe();
    answer({ measuring: true });
  } else if (op === "report") {
    answer({ stall: probe?.stop() ?? { cpuMs: -1, wallMs: -1 } });
  }
}
await agent.stop();
