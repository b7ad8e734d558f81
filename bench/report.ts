import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

// The results table, as printed to the terminal and as written into BENCHMARKS.md. The file is
// rewritten up to the results' end marker; hand-written notes after it survive.

export interface ResultRow {
  name: string;
  agent: string;
  bare: string;
  ratio: string;
  target: string;
  pass: boolean;
  /** Supporting figures (latencies, error counts) shown under the table. */
  detail: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

export function describeMachine(): Machine {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? "unknown",
    cores: all.length,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
  };
}

const HEADERS = ["Case", "Agent", "Bare node:http", "Ratio (agent/bare)", "Target", "Result"] as const;

function cells(row: ResultRow): string[] {
  return [row.name, row.agent, row.bare, row.ratio, row.target, row.pass ? "PASS" : "MISS"];
}

export function terminalTable(rows: ResultRow[]): string {
  const table = [[...HEADERS], ...rows.map(cells)];
  const widths = HEADERS.map((_, col) => Math.max(...table.map((r) => r[col].length)));
  const line = (r: string[]): string => r.map((c, col) => c.padEnd(widths[col])).join("  ");
  return [line(table[0]), widths.map((w) => "-".repeat(w)).join("  "), ...table.slice(1).map(line)].join("\n");
}

function markdownTable(rows: ResultRow[], headers: readonly string[] = HEADERS): string {
  const line = (r: readonly string[]): string => `| ${r.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map((r) => line(cells(r).map((c, i) => (i === 5 ? `**${c}**` : c))))].join("\n");
}

const START_MARK = "<!-- bench:results:start (written by `npm run bench`: everything above the end marker is overwritten) -->";
const END_MARK = "<!-- bench:results:end -->";

export interface RunInfo {
  machine: Machine;
  when: Date;
  totalSeconds: number;
  /** 1-minute load average before and after the run: other work on the machine skews figures. */
  loadBefore: number;
  loadAfter: number;
}

function resultsSection(rows: ResultRow[], run: RunInfo): string {
  const machine = run.machine;
  return [
    START_MARK,
    "",
    `**Run:** ${run.when.toISOString()} — ${run.totalSeconds.toFixed(0)} s in total; 1-minute load average ${run.loadBefore.toFixed(2)} before, ${run.loadAfter.toFixed(2)} after`,
    "",
    `**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB RAM, Node ${machine.node}, ${process.platform}`,
    "",
    markdownTable(rows),
    "",
    ...rows.map((r) => `- *${r.name}*: ${r.detail}`),
    "",
    END_MARK,
  ].join("\n");
}

const PREAMBLE = `# Benchmarks

Every figure here is measured against a **bare \`node:http\` server in the same run**, on the same
machine, with the same load tool, so the ratio says how much the agent costs over the least a Node
HTTP server can do — absolute numbers alone would only describe the machine. The bare server
(\`bench/bare-server.ts\`) answers every request with one fixed small JSON body (65 bytes) once its
request body has been read; for the fan-out case it parks GETs carrying \`wait=\` and releases them
all on the next PUT. Both the bare server and the agent run through tsx, so tsx's own start-up and
memory are in both.

## How to run

\`\`\`sh
npm run bench                          # about 1.5 minutes; prints the table and updates this file
npm run bench -- --cpu-prof-dir /tmp/p # same, with every agent under \`node --cpu-prof\` (written on exit)
\`\`\`

The agent under test is the real process, \`node bin/consulate.js agent -dev -http-port … -dns-port …
-server-port … -serf-lan-port … -grpc-port …\` on free ports (bound at port 0 first). Servers and load
generators are separate processes, so a server never shares an event loop with its client; the
bare server and the agent are never under load at the same time. Throughput cases use
[autocannon](https://github.com/mcollina/autocannon)'s programmatic API in a child process: 50
connections, a 1 s warm-up per server, then 5 rounds of 1 s on the bare server followed at once by
1 s on the agent. Other work on the machine only ever slows a round down, so the table credits each
server with its best round (ratio = best agent ÷ best bare) and lists the per-round ratios below it. The machine has 2 cores, so client and server each
get about one; other work on the machine (the run records the load average) moves the absolute
figures more than the ratios. A miss is reported as a miss; targets are not tuned to the machine.

## What each case measures

1. **KV GET, one small key** — \`GET /v1/kv/bench/key\` (a 5-byte value) in a loop: the read path
   (routing, query parsing, state lookup, JSON encoding, Consul headers). Target: ≥ 60 % of bare req/s.
2. **KV PUT, dev, in memory** — \`PUT /v1/kv/bench/put\` with a 5-byte body, same key every time: the
   write path (body read, command, consensus apply on the in-memory log, index bump, watch fire).
   Target: ≥ 40 % of bare req/s.
3. **Health of a 100-instance service** — 100 nodes each registered through
   \`PUT /v1/catalog/register\` with one \`web\` instance and a passing check, then
   \`GET /v1/health/service/web?passing\` in a loop: join of nodes, services and checks, filtering
   and encoding a large answer. Target: ≥ 25 % of bare req/s. The bare server still answers its small
   body, so the ratio also prices the answer's size; the detail line adds the bare server answering
   the agent's very bytes, which is the ceiling for that size.
4. **Start-up** — from \`spawn()\` to the first 200 from \`/v1/status/leader\`, polled every 2 ms on a
   fresh connection; median of 5 starts (alternating with the bare server's). Target: ≤ 500 ms.
5. **Idle RSS** — \`VmRSS\` from \`/proc/<pid>/status\` one second after start-up with no traffic;
   median of the same 5 starts. Target: ≤ 80 MB.
6. **10,000 blocking queries on one key** — \`GET /v1/kv/bench/fanout?index=<current>&wait=60s\`, one
   keep-alive connection each (node:http \`Agent\`, \`maxSockets: Infinity\`), spread over 2 client
   processes with their open-files limit raised; once the server has gone quiet (all parked) a single
   \`PUT\` changes the key. (a) RSS growth of the server from before the queries to the higher of
   "all parked" and "all answered": target ≤ 200 MB. (b) time from just before the PUT to the end of
   the last of the 10,000 answers, as seen by the clients: target **all** answered within 1,000 ms.
   Clients and server share the 2 cores here, so the bare figure shows how much of that second the
   harness itself takes.

## Latest results
`;

/** Rewrites everything up to the results' end marker; hand-written notes after it are kept. */
export function writeBenchmarksFile(path: string, rows: ResultRow[], run: RunInfo): void {
  const existing = existsSync(path) ? readFileSync(path, "utf8") : "";
  const end = existing.indexOf(END_MARK);
  const notes = end >= 0 ? existing.slice(end + END_MARK.length) : "\n";
  writeFileSync(path, `${PREAMBLE}\n${resultsSection(rows, run)}${notes}`);
}

/**
 * Rewrites one suite's own marked section (kept after the main results, among the notes), so a
 * suite outside the default set (`--suites tls`) reports without overwriting the main table.
 * The section is appended when the file has none yet.
 */
export function writeSuiteSection(
  path: string,
  suite: string,
  heading: string,
  rows: ResultRow[],
  run: RunInfo,
  columns: readonly string[] = ["Case", "TLS", "Yardstick", "Ratio", "Target", "Result"],
  /** What makes the figures comparable on a busy machine; most suites alternate rounds. */
  busyMachineNote = "a busy machine, so single rounds are noisy; the ratios come from alternating rounds",
): void {
  const start = `<!-- bench:${suite}:start (written by \`npm run bench -- --suites ${suite}\`) -->`;
  const end = `<!-- bench:${suite}:end -->`;
  const machine = run.machine;
  const section = [
    start,
    "",
    heading,
    "",
    `**Run:** ${run.when.toISOString()} — ${run.totalSeconds.toFixed(0)} s in total; 1-minute load average ${run.loadBefore.toFixed(2)} before, ${run.loadAfter.toFixed(2)} after ` +
      `(${machine.cores} cores: ${run.loadBefore > machine.cores ? busyMachineNote : "a quiet machine"})`,
    "",
    // The yardstick is named in each row's cell (node:https, plaintext), not node:http.
    markdownTable(rows, columns),
    "",
    ...rows.map((r) => `- *${r.name}*: ${r.detail}`),
    "",
    end,
  ].join("\n");
  const existing = existsSync(path) ? readFileSync(path, "utf8") : "";
  const at = existing.indexOf(start);
  const endAt = existing.indexOf(end);
  const next = at >= 0 && endAt > at ? `${existing.slice(0, at)}${section}${existing.slice(endAt + end.length)}` : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

const SCALE_START_MARK = "<!-- bench:scale:start (written by `npm run bench -- --suites scale`) -->";
const SCALE_END_MARK = "<!-- bench:scale:end -->";

const SCALE_PREAMBLE = `## Scale: a large catalog in one agent (issue 17)

\`npm run bench -- --suites scale\` (about 3 minutes at full size; \`--scale-nodes 1000\` for a
17,000-instance run while developing). One \`-dev\` agent; a client process registers
10,000 nodes × 17 services (\`svc-0\` … \`svc-16\`, so each service has one instance per node),
one \`PUT /v1/catalog/register\` per instance with its passing check, 32 at a time. Then, in this
order: sequential \`GET /v1/catalog/services\`; the first (cold) and second
\`GET /v1/health/service/svc-0\`; a loaded phase of ≥ 20 s in which 2 clients loop on
\`catalog/services\`, \`health/service/svc-0\` and \`catalog/service/svc-1\` while one svc-0
instance is re-registered every 500 ms and the runner times small reads (\`status/leader\`,
a 5-instance \`health/service/small\`) every 10 ms, with the agent's own
\`consul.runtime.event_loop_delay_*\` gauges read at the end (their last whole 10 s interval
lies inside the phase); 1,000 blocking queries on \`health/service/small\` woken by one write;
\`GET /v1/snapshot\` then \`PUT /v1/snapshot\` of that archive. Targets are the issue's absolute
ones; the "bare" and ratio columns hold same-run comparisons (idle vs loaded, warm vs cold).
`;

/** Writes the scale suite's own section (kept apart, so either run leaves the other's results). */
export function writeScaleSection(path: string, rows: ResultRow[], run: RunInfo): void {
  const existing = readFileSync(path, "utf8");
  const machine = run.machine;
  const section = [
    SCALE_START_MARK,
    "",
    SCALE_PREAMBLE,
    `**Run:** ${run.when.toISOString()} — ${run.totalSeconds.toFixed(0)} s in total; 1-minute load average ${run.loadBefore.toFixed(2)} before, ${run.loadAfter.toFixed(2)} after`,
    "",
    `**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB RAM, Node ${machine.node}, ${process.platform}`,
    "",
    markdownTable(rows),
    "",
    ...rows.map((r) => `- *${r.name}*: ${r.detail}`),
    "",
    SCALE_END_MARK,
  ].join("\n");
  const start = existing.indexOf(SCALE_START_MARK);
  const end = existing.indexOf(SCALE_END_MARK);
  if (start >= 0 && end > start) {
    writeFileSync(path, existing.slice(0, start) + section + existing.slice(end + SCALE_END_MARK.length));
    return;
  }
  const after = existing.indexOf(END_MARK);
  const at = after >= 0 ? after + END_MARK.length : existing.length;
  writeFileSync(path, `${existing.slice(0, at)}\n\n${section}${existing.slice(at)}`);
}
