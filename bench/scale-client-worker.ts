import type { ScaleLoopDone, ScaleLoopJob, ScaleRegisterDone, ScaleRegisterJob } from "./scale-jobs.ts";
import { instanceRegistration } from "./scale-jobs.ts";
import { RawHttpConnection } from "./raw-http-connection.ts";

// Child process for the scale suite: registers the catalog (many keep-alive connections over
// plain sockets, each request one instance with its passing check) or loops on heavy reads. It
// lives apart from the runner so the runner's own timing reads (small-read latency) never wait
// behind it.

function isRegister(m: unknown): m is ScaleRegisterJob {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "register";
}

function isLoop(m: unknown): m is ScaleLoopJob {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "loop";
}

async function register(job: ScaleRegisterJob): Promise<ScaleRegisterDone> {
  // Plain-socket keep-alive connections: node:http's client cost more CPU per request than the
  // agent's answer did, on the same two cores (raw-http-connection.ts).
  const connections = Array.from({ length: job.concurrency }, () => new RawHttpConnection(job.base));
  const total = job.nodes * job.servicesPerNode;
  let next = 0;
  let failures = 0;
  let firstFailure = "";
  const started = performance.now();
  const worker = async (connection: RawHttpConnection): Promise<void> => {
    while (next < total) {
      const i = next++;
      const body = JSON.stringify(instanceRegistration(Math.floor(i / job.servicesPerNode), i % job.servicesPerNode));
      try {
        const res = await connection.request("PUT", "/v1/catalog/register", body);
        if (res.status !== 200) {
          failures++;
          firstFailure ||= `${res.status} ${res.body.toString("utf8", 0, 200)}`;
        }
      } catch (err) {
        failures++;
        firstFailure ||= err instanceof Error ? err.message : String(err);
        return;
      }
    }
  };
  await Promise.all(connections.map(worker));
  const seconds = (performance.now() - started) / 1000;
  for (const c of connections) c.close();
  return { kind: "registered", instances: total, seconds, failures, firstFailure };
}

async function loop(job: ScaleLoopJob): Promise<ScaleLoopDone> {
  // Plain-socket connections that count the answer's bytes as they arrive: on this 2-core
  // machine the readers share the CPU with the servers, and node:http's client (a 'data' event
  // per socket read through IncomingMessage) cost about twice the CPU per MB. Real readers
  // are on other machines; the leader's work per answer is the same either way.
  const connections = Array.from({ length: job.clients }, () => new RawHttpConnection(job.base));
  let requests = 0;
  let bytes = 0;
  let failures = 0;
  let firstFailure = "";
  const latencies: number[] = [];
  const until = performance.now() + job.seconds * 1000;
  const client = async (connection: RawHttpConnection, offset: number): Promise<void> => {
    for (let i = offset; performance.now() < until; i++) {
      const path = job.paths[i % job.paths.length];
      const started = performance.now();
      try {
        const res = await connection.request("GET", path, "", true);
        latencies.push(performance.now() - started);
        requests++;
        bytes += res.bytes;
        if (res.status !== 200) {
          failures++;
          firstFailure ||= `${path}: ${res.status} ${res.body.toString("utf8")}`;
        }
      } catch (err) {
        // A broken connection cannot carry the next request.
        failures++;
        firstFailure ||= err instanceof Error ? err.message : String(err);
        return;
      }
    }
  };
  await Promise.all(connections.map((c, at) => client(c, at)));
  for (const c of connections) c.close();
  return { kind: "looped", requests, bytes, failures, firstFailure, latenciesMs: latencies };
}

process.on("message", (m: unknown) => {
  const run = isRegister(m) ? register(m) : isLoop(m) ? loop(m) : Promise.reject(new Error("scale-client-worker: unexpected message"));
  run.then(
    (done) => process.send?.(done),
    (err: unknown) => {
      process.stderr.write(`scale-client-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
});
