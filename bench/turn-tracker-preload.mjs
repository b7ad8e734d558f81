// Loaded into a benchmarked agent with `node --import` (bench/large-request.ts): records every
// long event-loop turn and every garbage collection of the agent's main thread, so the runner
// can tell how long one request held the loop. A 1 ms timer measures the gap between its
// firings in wall time and in CPU time: on a shared, loaded machine a turn's wall time is
// mostly waiting for a core, its CPU time is what this process kept busy. Two CPU clocks:
// the main thread's (/proc/thread-self/schedstat), which for a running thread only moves at
// scheduler ticks (4 ms here: a 0.5 ms turn can read 4 ms, a 6 ms one 2 ms), and the whole
// process's (process.cpuUsage, exact to the µs for the calling thread, plus whatever the GC
// helper and libuv threads ran meanwhile), an upper bound on the main thread's. Gaps over GAP_MS and GC
// pauses are appended as JSON lines (wall-clock timestamps, so the runner can cut them into
// its own phases) to the file named by CONSULATE_TURN_LOG, a batch every FLUSH_MS.
import { appendFileSync, readFileSync } from "node:fs";
import { PerformanceObserver, performance } from "node:perf_hooks";

const path = process.env.CONSULATE_TURN_LOG;
const GAP_MS = 2;
const FLUSH_MS = 200;

if (path) {
  const cpuMs = () => Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  const now = () => performance.timeOrigin + performance.now();
  let pending = [];
  let lastWall = now();
  const processCpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  let lastCpu = cpuMs();
  let lastProcessCpu = processCpuMs();
  setInterval(() => {
    const wall = now();
    const cpu = cpuMs();
    const processCpu = processCpuMs();
    const wallMs = wall - lastWall;
    const cpuGapMs = cpu - lastCpu;
    const processCpuGapMs = processCpu - lastProcessCpu;
    // `hr` (µs, the monotonic clock V8's CPU profiles are stamped with) finds the turn in a --cpu-prof profile.
    if (wallMs > GAP_MS || cpuGapMs > GAP_MS || processCpuGapMs > GAP_MS) {
      pending.push({ at: wall, wallMs, cpuMs: cpuGapMs, processCpuMs: processCpuGapMs, hr: Number(process.hrtime.bigint() / 1000n) });
    }
    lastWall = wall;
    lastCpu = cpu;
    lastProcessCpu = processCpu;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pending.push({ at: performance.timeOrigin + e.startTime + e.duration, gcMs: e.duration, kind: e.detail?.kind ?? 0 });
  }).observe({ entryTypes: ["gc"] });
  const flush = () => {
    if (pending.length === 0) return;
    appendFileSync(path, pending.map((r) => JSON.stringify(r)).join("\n") + "\n");
    pending = [];
  };
  setInterval(flush, FLUSH_MS).unref();
  process.once("exit", flush);
}
