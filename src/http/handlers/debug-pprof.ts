import { asyncResourceDump } from "../../runtime/async-resources.ts";
import { captureCpuProfile, CpuProfileBusyError } from "../../runtime/cpu-profiler.ts";
import { captureExecutionTrace, TraceBusyError } from "../../runtime/execution-trace.ts";
import type { ApiRequest, Handler, HttpContext, Reply } from "../context.ts";
import { first } from "../query.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// GET /debug/pprof/profile?seconds=N: a CPU profile of the agent over N seconds (default 30,
// as Go's pprof). As in Consul, served only when `enable_debug` is set or ACLs are enabled,
// and then only to a token with operator:read; otherwise 404 with an empty body. Consul
// answers Go's pprof protobuf; Node has no such profiler, so the body is a V8 .cpuprofile
// (JSON) — `consulate debug` stores it as profile.cpuprofile.

// The other profiles Go serves there, in Node's terms (same gate):
// - /debug/pprof/heap: V8's sampling heap profile of live memory (.heapprofile JSON), sampled
//   since agent start at Go's 512 KiB rate (runtime/heap-profiler.ts);
// - /debug/pprof/goroutine: Node has no goroutines; the active async resources by type, the
//   libuv handles and the stacks from Node's diagnostic report (runtime/async-resources.ts);
// - /debug/pprof/trace?seconds=N (default 1, as Go's): V8/Node trace events as a Chrome trace
//   (runtime/execution-trace.ts).
// Go's other named profiles (allocs, block, mutex, threadcreate, cmdline, symbol) are not served.

const DEFAULT_SECONDS = 30;
const DEFAULT_TRACE_SECONDS = 1;

/** Consul's gate for every /debug/pprof path: a reply when the request is refused. */
function refused(ctx: HttpContext, req: ApiRequest): Reply | undefined {
  if (!ctx.settings.enableDebug && !ctx.acl) return { kind: "empty", status: 404 };
  if (requestAuthorizer(ctx, req).operatorRead() !== "allow") return { kind: "empty", status: 403 };
  return undefined;
}

/** Go's pprof reading of ?seconds: a positive integer, else the default. */
function secondsParam(req: ApiRequest, fallback: number): number {
  const raw = first(req.query, "seconds") ?? "";
  const parsed = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

function attachment(body: string, filename: string): Reply {
  return { kind: "text", status: 200, body, contentType: "application/octet-stream", headers: { "Content-Disposition": `attachment; filename="${filename}"` } };
}

const heap: Handler = async (ctx, req): Promise<Reply> => {
  const no = refused(ctx, req);
  if (no) return no;
  if (!ctx.heapSampler) return { kind: "text", status: 500, body: "heap sampling is not running\n", headers: { "X-Go-Pprof": "1" } };
  return attachment(await ctx.heapSampler.profile(), "heap.heapprofile");
};

const goroutine: Handler = (ctx, req): Reply => {
  const no = refused(ctx, req);
  if (no) return no;
  return attachment(JSON.stringify(asyncResourceDump(), null, 2), "goroutine.json");
};

const trace: Handler = async (ctx, req): Promise<Reply> => {
  const no = refused(ctx, req);
  if (no) return no;
  try {
    return attachment(await captureExecutionTrace(secondsParam(req, DEFAULT_TRACE_SECONDS) * 1000, req.signal?.()), "trace.json");
  } catch (err) {
    if (err instanceof TraceBusyError) {
      return { kind: "text", status: 500, body: `Could not enable tracing: ${err.message}\n`, headers: { "X-Go-Pprof": "1" } };
    }
    throw err;
  }
};

const profile: Handler = async (ctx, req): Promise<Reply> => {
  const no = refused(ctx, req);
  if (no) return no;
  const seconds = secondsParam(req, DEFAULT_SECONDS);
  try {
    const body = await captureCpuProfile(seconds * 1000, req.signal?.());
    return {
      kind: "text",
      status: 200,
      body,
      contentType: "application/octet-stream",
      headers: { "Content-Disposition": 'attachment; filename="profile.cpuprofile"' },
    };
  } catch (err) {
    if (err instanceof CpuProfileBusyError) {
      return { kind: "text", status: 500, body: `Could not enable CPU profiling: ${err.message}\n`, headers: { "X-Go-Pprof": "1" } };
    }
    throw err;
  }
};

export const debugPprofHandlers = { profile, heap, goroutine, trace } satisfies Record<string, Handler>;
