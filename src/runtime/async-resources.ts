// What stands in for Go's goroutine dump (/debug/pprof/goroutine) in Node: there are no
// goroutines, so the dump lists what keeps work alive on the event loop — the active async
// resources by type (sockets, timers, file and DNS requests), every libuv handle with its
// state and endpoints, the JavaScript and native stacks of the thread answering, and heap
// and resource usage — taken from Node's diagnostic report. The report's environment
// variables and command line are left out: they may carry tokens or keys.

export interface AsyncResourceDump {
  ActiveResources: Record<string, number>;
  [section: string]: unknown;
}

/** A report (or a worker's sub-report) without environment, command line or loaded libraries. */
function withoutSecrets(report: Record<string, unknown>): Record<string, unknown> {
  const { environmentVariables: _env, sharedObjects: _libs, header, workers, ...rest } = report;
  const { commandLine: _argv, ...safeHeader } = (header ?? {}) as Record<string, unknown>;
  const safeWorkers = Array.isArray(workers) ? workers.map((w) => withoutSecrets(w as Record<string, unknown>)) : [];
  return { header: safeHeader, ...rest, workers: safeWorkers };
}

export function asyncResourceDump(): AsyncResourceDump {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  const report = process.report.getReport() as unknown as Record<string, unknown>;
  return { ActiveResources: counts, ...withoutSecrets(report) };
}
