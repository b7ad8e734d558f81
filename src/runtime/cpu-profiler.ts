import { Session } from "node:inspector/promises";

// A CPU profile of this process over a span of time, through the V8 inspector (the Node
// counterpart of Go's pprof CPU profile). The result is a V8 `.cpuprofile` (JSON, as Chrome
// DevTools and `node --cpu-prof` write it). Sampling happens on V8's own thread: the event
// loop is free while the profile runs. One profile at a time per process, as Go allows one.

let running = false;

export class CpuProfileBusyError extends Error {
  constructor() {
    super("cpu profiling already in use");
  }
}

/** Profiles for `durationMs` (or until `signal` aborts) and returns the profile's JSON. */
export async function captureCpuProfile(durationMs: number, signal?: AbortSignal): Promise<string> {
  if (running) throw new CpuProfileBusyError();
  running = true;
  const session = new Session();
  try {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, durationMs));
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      if (signal?.aborted) done();
      else signal?.addEventListener("abort", done, { once: true });
    });
    const { profile } = await session.post("Profiler.stop");
    return JSON.stringify(profile);
  } finally {
    session.disconnect();
    running = false;
  }
}
