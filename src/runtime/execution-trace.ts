import { Session } from "node:inspector/promises";

// The Node counterpart of Go's execution trace (/debug/pprof/trace): V8 and Node trace events
// over a span of time through the inspector's NodeTracing domain — async operations (what
// goroutines are in Go), thread-pool work, GC and compilation — as a Chrome trace document
// ({"traceEvents": [...]}, opens in Perfetto or chrome://tracing). One trace at a time, as Go
// allows one. A busy agent makes many events; past MAX_EVENTS the rest are dropped and the
// document says how many (metadata.droppedEvents), so a trace cannot exhaust memory.

const CATEGORIES = ["v8", "node.async_hooks", "node.perf", "node.threadpoolwork.async"];
const MAX_EVENTS = 200_000;

let running = false;

export class TraceBusyError extends Error {
  constructor() {
    super("runtime: tracing already enabled");
  }
}

interface TraceChunk {
  params: { value: unknown[] };
}

export async function captureExecutionTrace(durationMs: number, signal?: AbortSignal): Promise<string> {
  if (running) throw new TraceBusyError();
  running = true;
  const session = new Session();
  const events: unknown[] = [];
  let dropped = 0;
  try {
    session.connect();
    session.on("NodeTracing.dataCollected", (message: TraceChunk) => {
      for (const event of message.params.value) {
        if (events.length < MAX_EVENTS) events.push(event);
        else dropped++;
      }
    });
    const complete = new Promise<void>((resolve) => session.once("NodeTracing.tracingComplete", () => resolve()));
    await session.post("NodeTracing.start", { traceConfig: { includedCategories: CATEGORIES } });
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
    await session.post("NodeTracing.stop");
    await complete;
    return JSON.stringify({ traceEvents: events, metadata: { categories: CATEGORIES, droppedEvents: dropped } });
  } finally {
    session.disconnect();
    running = false;
  }
}
