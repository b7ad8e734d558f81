// Scripted interaction tests with golden traces (after etcd's datadriven testdata): each
// file in testdata/ is a list of commands, each followed by "----" and the trace it must
// produce. Regenerate the traces after an intended change with:
//   RAFT_REWRITE=1 npx tsx --test test/raft/interaction.test.ts
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfChangeType } from "../../src/raft/confchange.ts";
import { ReadOnlyOption } from "../../src/raft/read-only.ts";
import type { NodeOptions } from "./harness.ts";
import { TestCluster } from "./harness.ts";

const dir = join(dirname(fileURLToPath(import.meta.url)), "testdata");
const rewrite = process.env.RAFT_REWRITE === "1" || process.argv.includes("--rewrite");

interface Block {
  command: string;
  expected: string;
}

function parse(text: string): { header: string; blocks: Block[] } {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  const header: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "" || line.startsWith("#")) {
      if (blocks.length === 0) header.push(line);
      i++;
      continue;
    }
    const command = line;
    if (lines[i + 1] !== "----") throw new Error(`line ${i + 2}: expected ---- after "${command}"`);
    i += 2;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== "") out.push(lines[i++]);
    blocks.push({ command, expected: out.join("\n") });
  }
  return { header: header.join("\n"), blocks };
}

function run(cluster: { c: TestCluster | undefined }, command: string): string {
  const [cmd, ...args] = command.split(/\s+/);
  const num = (i: number): number => {
    const n = Number(args[i]);
    if (!Number.isInteger(n)) throw new Error(`${command}: argument ${i + 1} must be a number`);
    return n;
  };
  if (cmd === "cluster") {
    const opts: NodeOptions = {};
    let voters: number[] = [];
    for (const a of args) {
      if (a.startsWith("voters=")) voters = a.slice(7).split(",").map(Number);
      else if (a === "prevote") opts.preVote = true;
      else if (a === "checkquorum") opts.checkQuorum = true;
      else if (a === "lease") opts.readOnlyOption = ReadOnlyOption.LeaseBased;
      else throw new Error(`cluster: unknown option ${a}`);
    }
    cluster.c = new TestCluster(voters, opts);
    cluster.c.traceEnabled = true;
    return `ok`;
  }
  const c = cluster.c;
  if (!c) throw new Error("no cluster: start with a cluster command");
  c.trace.length = 0;
  switch (cmd) {
    case "campaign":
      c.node(num(0)).raw.campaign();
      break;
    case "propose": {
      const err = c.node(num(0)).raw.propose(new TextEncoder().encode(args[1] ?? ""));
      if (err) c.trace.push(`error: ${err}`);
      break;
    }
    case "tick":
      c.tick(num(0), args[1] === undefined ? 1 : num(1));
      break;
    case "isolate":
      c.isolate(num(0));
      break;
    case "heal":
      c.heal();
      break;
    case "stabilize":
      c.stabilize();
      break;
    case "transfer":
      c.node(num(0)).raw.transferLeader(num(1));
      break;
    case "read":
      c.node(num(0)).raw.readIndex(new TextEncoder().encode(args[1] ?? "r"));
      break;
    case "add-node":
      c.addNode(num(0));
      break;
    case "conf": {
      const types: Record<string, ConfChangeType> = {
        add: ConfChangeType.AddNode,
        remove: ConfChangeType.RemoveNode,
        learner: ConfChangeType.AddLearnerNode,
      };
      const type = types[args[1]];
      if (!type) throw new Error(`conf: unknown change ${args[1]}`);
      const err = c.node(num(0)).raw.proposeConfChange({ type, nodeId: num(2) });
      if (err) c.trace.push(`error: ${err}`);
      break;
    }
    case "status":
      for (const [id, n] of [...c.nodes].sort((a, b) => a[0] - b[0])) {
        const r = n.raw.raft;
        const cs = r.confState();
        c.trace.push(
          `${id}: ${r.state.replace("State", "")} term=${r.term} lead=${r.lead} commit=${r.raftLog.committed} applied=${r.raftLog.applied} last=${r.raftLog.lastIndex()} voters=[${cs.voters}]${cs.learners.length ? ` learners=[${cs.learners}]` : ""}`,
        );
      }
      break;
    case "reads":
      for (const rs of c.node(num(0)).readStates) c.trace.push(`index=${rs.index} ctx=${new TextDecoder().decode(rs.requestCtx)}`);
      break;
    default:
      throw new Error(`unknown command ${cmd}`);
  }
  return c.trace.length === 0 ? "ok" : c.trace.join("\n");
}

for (const file of readdirSync(dir).filter((f) => f.endsWith(".txt")).sort()) {
  test(`interaction - ${file.replace(/\.txt$/, "")}`, () => {
    const path = join(dir, file);
    const { header, blocks } = parse(readFileSync(path, "utf8"));
    const cluster: { c: TestCluster | undefined } = { c: undefined };
    const actual = blocks.map((b) => ({ command: b.command, expected: b.expected, got: run(cluster, b.command) }));
    if (rewrite) {
      const body = actual.map((b) => `${b.command}\n----\n${b.got}\n`).join("\n");
      writeFileSync(path, `${header.trimEnd()}\n\n${body}`);
      assert.ok(actual.length > 0);
      return;
    }
    for (const b of actual) assert.equal(b.got, b.expected, `${file}: ${b.command}`);
  });
}
