import { createSocket } from "node:dgram";
import { encode } from "dns-packet";

// Child process: a UDP DNS load generator. Keeps `concurrency` queries in flight against one
// server (each reply immediately triggers the next query), records every latency, and reports
// throughput and percentiles over IPC. The same generator measures the agent and the bare server.

export interface DnsLoadJob {
  port: number;
  name: string;
  type: "A" | "SRV";
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface DnsLoadOutcome {
  queriesPerSecond: number;
  completed: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Queries unanswered after 1 s (re-sent). */
  timeouts: number;
  /** Replies that were not NOERROR. */
  errors: number;
}

const QUERY_TIMEOUT_MS = 1000;

function isJob(m: unknown): m is DnsLoadJob {
  return typeof m === "object" && m !== null && "port" in m && "concurrency" in m;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(job: DnsLoadJob): Promise<DnsLoadOutcome> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  const templates = new Map<number, Buffer>();
  const queryFor = (id: number): Buffer => {
    let q = templates.get(id);
    if (!q) {
      q = encode({ type: "query", id, flags: 1 << 8, questions: [{ name: job.name, type: job.type, class: "IN" }] });
      templates.set(id, q);
    }
    return q;
  };
  const sentAt = new Float64Array(job.concurrency);
  const latencies: number[] = [];
  let measuring = false;
  let stopped = false;
  let completed = 0;
  let timeouts = 0;
  let errors = 0;
  const send = (slot: number): void => {
    sentAt[slot] = performance.now();
    socket.send(queryFor(slot), job.port, "127.0.0.1");
  };
  socket.on("message", (msg) => {
    const slot = msg.readUInt16BE(0);
    if (slot >= job.concurrency || sentAt[slot] === 0) return;
    const latency = performance.now() - sentAt[slot];
    sentAt[slot] = 0;
    if (measuring) {
      latencies.push(latency);
      completed++;
      if ((msg.readUInt16BE(2) & 0xf) !== 0) errors++;
    }
    if (!stopped) send(slot);
  });
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (let slot = 0; slot < job.concurrency; slot++) {
      if (sentAt[slot] !== 0 && now - sentAt[slot] > QUERY_TIMEOUT_MS) {
        if (measuring) timeouts++;
        send(slot);
      }
    }
  }, 100);
  for (let slot = 0; slot < job.concurrency; slot++) send(slot);
  await new Promise((resolve) => setTimeout(resolve, job.warmupSeconds * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, job.durationSeconds * 1000));
  measuring = false;
  const elapsedS = (performance.now() - started) / 1000;
  stopped = true;
  clearInterval(watchdog);
  socket.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    queriesPerSecond: completed / elapsedS,
    completed,
    latencyP50Ms: percentile(sorted, 50),
    latencyP99Ms: percentile(sorted, 99),
    timeouts,
    errors,
  };
}

process.once("message", (m: unknown) => {
  if (!isJob(m)) throw new Error("dns-load-worker: unexpected message");
  run(m).then(
    (outcome) => process.send?.(outcome, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`dns-load-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
});
