import { abandonBlockingQueries, dnsFlood, httpFlood, type DnsFloodOptions, type HttpFloodOptions } from "./floods.ts";

// Child process for the chaos floods: the load runs on its own event loop, so the driver's
// responsiveness probe and KV clients measure the agent, not the driver's own flood.
//
//   node --import tsx bench/chaos/flood-worker.ts      (one job over IPC, one answer back)

export type FloodJob =
  | { kind: "dns"; options: DnsFloodOptions }
  | { kind: "http"; options: HttpFloodOptions }
  | { kind: "abandon"; options: { host: string; port: number; count: number; concurrency: number; hangUpAfterMs: number } };

export interface FloodResult {
  floodResult: string;
}

async function run(job: FloodJob): Promise<string> {
  if (job.kind === "dns") {
    const r = await dnsFlood(job.options);
    return `${r.sent} datagrams in ${job.options.durationMs / 1000} s, ${r.replies} replies`;
  }
  if (job.kind === "http") {
    const r = await httpFlood(job.options);
    return `${r.requests} requests over ${job.options.connections} connections (${r.serverErrors} 5xx, ${r.failures} failed)`;
  }
  const done = await abandonBlockingQueries(job.options);
  return `${done} blocking queries abandoned`;
}

process.once("message", (job: FloodJob) => {
  run(job).then(
    (floodResult) => {
      process.send?.({ floodResult } satisfies FloodResult);
      process.disconnect?.();
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
