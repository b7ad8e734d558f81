// `consul debug`: captures what an operator needs to diagnose an agent into one archive —
// agent self, host, members (once), metrics every -interval, the logs (at DEBUG, through
// /v1/agent/monitor) and, when the agent has enable_debug, one CPU profile spanning the whole
// -duration (/debug/pprof/profile), one execution trace over the first interval (trace.json)
// and, each interval, a heap profile and an async-resource dump in a directory named for the
// moment, as Consul 1.20 does. Consul's files are Go pprof (profile.prof, trace.out, heap.prof,
// goroutine.prof); the agent here answers V8/Node formats, stored as profile.cpuprofile,
// trace.json (Perfetto), <time>/heap.heapprofile (Chrome DevTools) and <time>/goroutine.json.
import { Writable } from "node:stream";
import { formatGoDuration } from "../model/duration.ts";
import { writeDebugArchive, type DebugFile } from "../storage/debug-archive.ts";
import { sleep } from "./abortable-sleep.ts";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, durationFlag, repeatableFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, RequestAbortedError, type ConsulHttpClient } from "./http-client.ts";
import { withProcessShutdown } from "./shutdown-signal.ts";

const MIN_INTERVAL_MS = 5_000;
const TARGETS = ["metrics", "logs", "pprof", "host", "agent", "members"] as const;

const FLAGS = {
  capture: repeatableFlag("One or more types of information to capture. This can be used to capture a subset of information. Defaults to capturing everything."),
  interval: durationFlag("The interval in which to capture dynamic information such as telemetry, and profiling.", 30_000),
  duration: durationFlag("The total time to record information.", 120_000),
  output: stringFlag("The path to the compressed archive that will be created, defaults to the current directory."),
  archive: boolFlag("Boolean value for if the files should be archived and compressed. Setting this to false will skip the archive step and leave the directory of information on the current path.", true),
  ...HTTP_CLIENT_FLAGS,
} as const;

const HELP = `
Usage: consulate debug [options]

  Monitors a Consul agent for the specified period of time, recording
  information about the agent, cluster, and environment to an archive
  written to the current directory.
`;

/** Consul's interval directory name: RFC 3339 in UTC with the colons made hyphens. */
function intervalDirName(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/:/g, "-")}Z`;
}

async function captureSnapshots(client: ConsulHttpClient, at: Date, signal: AbortSignal, io: CommandIO): Promise<DebugFile[]> {
  const dir = intervalDirName(at);
  const out: DebugFile[] = [];
  for (const [path, name, what] of [
    ["/debug/pprof/heap", "heap.heapprofile", "heap"],
    ["/debug/pprof/goroutine", "goroutine.json", "goroutine"],
  ] as const) {
    try {
      out.push({ name: `${dir}/${name}`, data: (await client.sendOK({ method: "GET", path, signal })).body });
    } catch (err) {
      if (!(err instanceof RequestAbortedError)) printLine(io.stderr, `Error capturing ${what} profile: ${errorMessage(err)}`);
    }
  }
  return out;
}

async function runDebug(args: string[], io: CommandIO, shutdown: AbortSignal): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (!f.archive) {
    printLine(io.stderr, "Invalid flags: -archive=false is not supported by Consulate; the capture is always written as a .tar.gz archive");
    return 1;
  }
  let targets = f.capture.length > 0 ? f.capture : [...TARGETS];
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      printLine(io.stderr, `Invalid flags: target not found for capture: ${t}`);
      return 1;
    }
  }
  if (f.interval < MIN_INTERVAL_MS) {
    printLine(io.stderr, `Invalid flags: interval must be longer than 5s, got ${formatGoDuration(f.interval)}`);
    return 1;
  }
  if (f.duration < f.interval) {
    printLine(io.stderr, `Invalid flags: duration (${formatGoDuration(f.duration)}) must be longer than interval (${formatGoDuration(f.interval)})`);
    return 1;
  }
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  const startedMs = Date.now();
  const name = f.output !== "" ? f.output.replace(/\.tar\.gz$/, "") : `consul-debug-${Math.floor(startedMs / 1000)}`;
  const files: DebugFile[] = [];
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, "\t"));
  let self: { Config?: { Version?: string }; DebugConfig?: { EnableDebug?: boolean; ACLsEnabled?: boolean } };
  try {
    self = (await client.getJSON("/v1/agent/self")) as typeof self;
  } catch (err) {
    printLine(io.stderr, `Error querying target agent: ${errorMessage(err)}. Verify connectivity and agent address.`);
    return 1;
  }
  // As Consul: profiles need enable_debug, or ACLs (then the token's operator:read decides).
  const aclsEnabled = self.DebugConfig?.ACLsEnabled === true;
  if (self.DebugConfig?.EnableDebug !== true && !aclsEnabled && targets.includes("pprof")) {
    targets = targets.filter((t) => t !== "pprof");
    printLine(io.stderr, "[WARN] Unable to capture pprof. Set enable_debug to true on target agent to enable profiling.");
  }
  printLine(io.stdout, "==> Starting debugger and capturing static information...");
  printLine(io.stdout, `     Agent Version: '${self.Config?.Version ?? ""}'`);
  printLine(io.stdout, `          Interval: '${formatGoDuration(f.interval)}'`);
  printLine(io.stdout, `          Duration: '${formatGoDuration(f.duration)}'`);
  printLine(io.stdout, `            Output: '${name}.tar.gz'`);
  printLine(io.stdout, `           Capture: '${targets.join(", ")}'`);
  try {
    if (targets.includes("agent")) files.push({ name: "agent.json", data: json(self) });
    if (targets.includes("host")) files.push({ name: "host.json", data: json(await client.getJSON("/v1/agent/host")) });
    if (targets.includes("members")) files.push({ name: "members.json", data: json(await client.getJSON("/v1/agent/members")) });
  } catch (err) {
    printLine(io.stderr, `Error capturing static information: ${errorMessage(err)}`);
    return 1;
  }

  // Logs stream for the whole duration while metrics are sampled once per interval.
  const stop = new AbortController();
  const onShutdown = (): void => stop.abort();
  shutdown.addEventListener("abort", onShutdown, { once: true });
  let logs = "";
  const logCapture = targets.includes("logs")
    ? client
        .send({
          method: "GET",
          path: "/v1/agent/monitor",
          query: { loglevel: "debug" },
          signal: stop.signal,
          responseSink: new Writable({
            write(chunk: Buffer, _enc, cb) {
              logs += chunk.toString("utf8");
              cb();
            },
          }),
        })
        .catch((err: unknown) => {
          if (!(err instanceof RequestAbortedError)) printLine(io.stderr, `Error capturing logs: ${errorMessage(err)}`);
        })
    : Promise.resolve();
  // One profile for the whole duration (Consul 1.11+), not one per interval.
  let cpuProfile: Buffer | undefined;
  const profileCapture = targets.includes("pprof")
    ? client
        .sendOK({ method: "GET", path: "/debug/pprof/profile", query: { seconds: String(Math.max(1, Math.floor(f.duration / 1000))) }, signal: stop.signal })
        .then((res) => {
          cpuProfile = res.body;
        })
        .catch((err: unknown) => {
          if (!(err instanceof RequestAbortedError)) printLine(io.stderr, `Error capturing pprof: ${errorMessage(err)}`);
        })
    : Promise.resolve();
  // One execution trace spanning the first interval, as Consul's trace.out.
  let trace: Buffer | undefined;
  const traceCapture = targets.includes("pprof")
    ? client
        .sendOK({ method: "GET", path: "/debug/pprof/trace", query: { seconds: String(Math.max(1, Math.floor(f.interval / 1000))) }, signal: stop.signal })
        .then((res) => {
          trace = res.body;
        })
        .catch((err: unknown) => {
          if (!(err instanceof RequestAbortedError)) printLine(io.stderr, `Error capturing trace: ${errorMessage(err)}`);
        })
    : Promise.resolve();
  const metrics: string[] = [];
  try {
    for (let i = 0; !stop.signal.aborted && Date.now() - startedMs < f.duration; i++) {
      printLine(io.stdout, `==> Beginning capture interval ${new Date().toISOString()} (${i})`);
      if (targets.includes("metrics")) metrics.push(JSON.stringify(await client.getJSON("/v1/agent/metrics")));
      // Heap and "goroutine" (async resources) snapshots each interval, in a directory named
      // for the moment as Consul names it (2006-01-02T15-04-05Z).
      if (targets.includes("pprof")) files.push(...(await captureSnapshots(client, new Date(), stop.signal, io)));
      await sleep(Math.min(f.interval, f.duration - (Date.now() - startedMs)), stop.signal);
    }
  } catch (err) {
    if (!(err instanceof RequestAbortedError)) printLine(io.stderr, `Error capturing metrics: ${errorMessage(err)}`);
  } finally {
    shutdown.removeEventListener("abort", onShutdown);
    // The profile ends on its own at -duration; only an interrupt cuts it short (and loses it).
    await profileCapture;
    await traceCapture;
    stop.abort();
    await logCapture;
  }
  if (cpuProfile) files.push({ name: "profile.cpuprofile", data: cpuProfile });
  if (trace) files.push({ name: "trace.json", data: trace });
  if (targets.includes("metrics")) files.push({ name: "metrics.json", data: Buffer.from(metrics.join("\n") + "\n") });
  if (targets.includes("logs")) files.push({ name: "consul.log", data: Buffer.from(logs) });
  files.push({ name: "index.json", data: json({ Version: 2, AgentVersion: self.Config?.Version ?? "", Interval: formatGoDuration(f.interval), Duration: formatGoDuration(f.duration), Targets: targets }) });
  try {
    await writeDebugArchive(`${name}.tar.gz`, name.split("/").at(-1) ?? name, files, Date.now());
  } catch (err) {
    printLine(io.stderr, `Error creating archive: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Saved debug archive: ${name}.tar.gz`);
  return 0;
}

export const debugCommand: CommandDefinition = {
  synopsis: "Records a debugging archive for operators",
  help: helpFor(HELP, FLAGS),
  run: withProcessShutdown((args, io, shutdown) => runDebug(args, io, shutdown)),
};
