import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./free-port.ts";
import { firstOk } from "./http-call.ts";
import { readCpuTicks } from "./proc-stats.ts";
import { RawHttpConnection } from "./raw-http-connection.ts";
import { instanceRegistration } from "./scale-jobs.ts";

// Same-run A/B of the agent's CPU per catalog registration (issue 17, S1): each bundle given
// (a copy of an older dist/consulate.mjs and the current one) serves a fresh -dev agent in
// turn, a client registers `count` instances at c=32 over raw keep-alive sockets, and the
// agent's /proc CPU ticks per registration are printed. Rounds alternate the bundles so a
// shared machine's load falls on both alike.
//
//   npx tsx bench/register-ab.ts <count> <rounds> <bundle.mjs>... [-- <agent args>]
//
// Profiling one round: PROF_DIR=<dir> (--cpu-prof; the agent is stopped with SIGINT so the
// profile is written), PERF_OUT=<file> (`perf record -g` of the agent while it registers; pair
// with AGENT_NODE_FLAGS="--perf-basic-prof" for JS names), AGENT_NODE_FLAGS=<node flags>.

const CLOCK_TICKS_PER_SECOND = 100;

async function start(bundle: string, extra: string[]): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const args = [bundle, "agent", "-dev", "-http-port", String(port), "-dns-port", String(await freePort()), "-server-port", String(await freePort()),
    "-serf-lan-port", String(await freePort()), "-serf-wan-port", String(await freePort()), "-grpc-port", "-1", ...extra];
  const prof = [...(process.env.PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.PROF_DIR] : []), ...(process.env.AGENT_NODE_FLAGS ?? "").split(" ").filter(Boolean)];
  const child = spawn(process.execPath, [...prof, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  await firstOk(`${base}/v1/status/leader`, 20_000, 5, () => child.exitCode === null);
  return { child, base };
}

async function round(bundle: string, count: number, extra: string[]): Promise<{ usPerReg: number; rate: number }> {
  const { child, base } = await start(bundle, extra);
  let perf: ChildProcess | undefined;
  try {
    const connections = Array.from({ length: 32 }, () => new RawHttpConnection(base));
    let next = 0;
    const pid = child.pid ?? 0;
    if (process.env.PERF_OUT) {
      perf = spawn("perf", ["record", "-F", "999", "-g", "-p", String(pid), "-o", process.env.PERF_OUT], { stdio: "ignore" });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const before = readCpuTicks(pid);
    const started = performance.now();
    await Promise.all(connections.map(async (c) => {
      while (next < count) {
        const i = next++;
        const r = await c.request("PUT", "/v1/catalog/register", JSON.stringify(instanceRegistration(Math.floor(i / 17), i % 17)));
        if (r.status !== 200) throw new Error(`${r.status} ${r.body.toString()}`);
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const ticks = readCpuTicks(pid) - before;
    if (perf) {
      perf.kill("SIGINT");
      await new Promise((resolve) => perf?.once("exit", resolve));
    }
    for (const c of connections) c.close();
    return { usPerReg: (ticks / CLOCK_TICKS_PER_SECOND / count) * 1e6, rate: count / seconds };
  } finally {
    if (process.env.PROF_DIR) {
      child.kill("SIGINT");
      await new Promise((resolve) => child.once("exit", resolve));
    } else child.kill("SIGKILL");
  }
}

const [countArg, roundsArg, ...rest] = process.argv.slice(2);
const sep = rest.indexOf("--");
const bundles = sep < 0 ? rest : rest.slice(0, sep);
const extra = sep < 0 ? [] : rest.slice(sep + 1);
const results = new Map<string, number[]>(bundles.map((b) => [b, []]));
for (let r = 0; r < Number(roundsArg); r++) {
  for (const bundle of r % 2 === 0 ? bundles : [...bundles].reverse()) {
    const out = await round(bundle, Number(countArg), extra);
    results.get(bundle)?.push(out.usPerReg);
    process.stdout.write(`${bundle}: ${out.usPerReg.toFixed(1)} µs/reg, ${Math.round(out.rate)}/s\n`);
  }
}
for (const [b, us] of results) {
  const sorted = [...us].sort((a, b) => a - b);
  process.stdout.write(`${b}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} µs/reg (${sorted.map((x) => x.toFixed(0)).join(", ")})\n`);
}
