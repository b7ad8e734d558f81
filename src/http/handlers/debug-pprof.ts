import { captureCpuProfile, CpuProfileBusyError } from "../../runtime/cpu-profiler.ts";
import type { Handler, Reply } from "../context.ts";
import { first } from "../query.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// GET /debug/pprof/profile?seconds=N: a CPU profile of the agent over N seconds (default 30,
// as Go's pprof). As in Consul, served only when `enable_debug` is set or ACLs are enabled,
// and then only to a token with operator:read; otherwise 404 with an empty body. Consul
// answers Go's pprof protobuf; Node has no such profiler, so the body is a V8 .cpuprofile
// (JSON) — `consulate debug` stores it as profile.cpuprofile.

const DEFAULT_SECONDS = 30;

const profile: Handler = async (ctx, req): Promise<Reply> => {
  if (!ctx.settings.enableDebug && !ctx.acl) return { kind: "empty", status: 404 };
  if (requestAuthorizer(ctx, req).operatorRead() !== "allow") return { kind: "empty", status: 403 };
  const raw = first(req.query, "seconds") ?? "";
  const parsed = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
  const seconds = Number.isFinite(parsed) && parsed > 0 ? parsed : DEFAULT_SECONDS;
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

export const debugPprofHandlers = { profile } satisfies Record<string, Handler>;
