import autocannon from "autocannon";
import type { LoadJob, LoadOutcome } from "./load.ts";

// Child process: runs autocannon jobs sent over IPC, one at a time, and answers each with its
// figures. It lives apart from the runner and from the server under test, and stays up across
// jobs so its own JIT is warm for every round.

function isLoadJob(m: unknown): m is LoadJob {
  return typeof m === "object" && m !== null && "url" in m && "durationSeconds" in m;
}

async function runJob(job: LoadJob): Promise<LoadOutcome> {
  const result = await autocannon({
    url: job.url,
    method: job.method,
    body: job.body,
    headers: job.body === undefined ? undefined : { "Content-Type": "application/octet-stream" },
    connections: job.connections,
    duration: job.durationSeconds,
    timeout: 10,
  });
  return {
    requestsPerSecond: result.requests.total / result.duration,
    bytesPerSecond: result.throughput.total / result.duration,
    completed: result.requests.total,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

process.on("message", (m: unknown) => {
  if (!isLoadJob(m)) throw new Error("load-worker: unexpected message");
  runJob(m).then(
    (outcome) => process.send?.(outcome),
    (err: unknown) => {
      process.stderr.write(`load-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
});
