// Child process: the mesh bench's load generator, driven over IPC, one job at a time.
//   pingpong: `connections` connections each send `size` bytes and wait for `size` back, again
//             and again for `seconds`; answers request count and latency percentiles.
//   connect:  `connections` loops each open a new connection, exchange one small message and
//             close, for `seconds`; answers connections per second (set-up cost end to end).
//   hold:     opens `connections` connections at once, keeps them all open, exchanges `rounds`
//             messages on each; answers how many failed.
import net from "node:net";

export type MeshJob =
  | { kind: "pingpong"; port: number; connections: number; seconds: number; size: number }
  | { kind: "connect"; port: number; connections: number; seconds: number }
  | { kind: "hold"; port: number; connections: number; rounds: number };

export interface MeshOutcome {
  completed: number;
  perSecond: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1", noDelay: true });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Sends `payload` and resolves once as many bytes came back; rejects if the connection ends first. */
function roundTrip(s: net.Socket, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (d: Buffer): void => {
      got += d.length;
      if (got >= payload.length) {
        cleanup();
        resolve();
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error("connection closed"));
    };
    const cleanup = (): void => {
      s.off("data", onData);
      s.off("close", onEnd);
      s.off("error", onEnd);
    };
    s.on("data", onData);
    s.once("close", onEnd);
    s.once("error", onEnd);
    s.write(payload);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function pingpong(job: Extract<MeshJob, { kind: "pingpong" }>): Promise<MeshOutcome> {
  const payload = Buffer.alloc(job.size, 120);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + job.seconds * 1000;
  const sockets = await Promise.all(Array.from({ length: job.connections }, () => connect(job.port)));
  const began = performance.now();
  await Promise.all(
    sockets.map(async (s) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await roundTrip(s, payload);
        } catch {
          errors++;
          return;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  for (const s of sockets) s.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return { completed: latencies.length, perSecond: latencies.length / elapsed, errors, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

async function connectLoop(job: Extract<MeshJob, { kind: "connect" }>): Promise<MeshOutcome> {
  const payload = Buffer.from("hi");
  const latencies: number[] = [];
  let errors = 0;
  const began = performance.now();
  const deadline = began + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        let s: net.Socket | undefined;
        try {
          s = await connect(job.port);
          await roundTrip(s, payload);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        } finally {
          s?.destroy();
        }
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { completed: latencies.length, perSecond: latencies.length / elapsed, errors, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

async function hold(job: Extract<MeshJob, { kind: "hold" }>): Promise<MeshOutcome> {
  const payload = Buffer.alloc(1024, 121);
  let errors = 0;
  const began = performance.now();
  // Opened in waves of 100, as a client pool ramps up; all stay open together.
  const sockets: net.Socket[] = [];
  for (let opened = 0; opened < job.connections; opened += 100) {
    const wave = await Promise.allSettled(Array.from({ length: Math.min(100, job.connections - opened) }, () => connect(job.port)));
    for (const r of wave) if (r.status === "fulfilled") sockets.push(r.value);
    else errors++;
  }
  let completed = 0;
  for (let round = 0; round < job.rounds; round++) {
    const results = await Promise.allSettled(sockets.map((s) => roundTrip(s, payload)));
    for (const r of results) if (r.status === "fulfilled") completed++;
    else errors++;
  }
  const elapsed = (performance.now() - began) / 1000;
  // Report while every connection is still open, so the caller can read the proxies' memory.
  process.send?.({ holding: sockets.length });
  await new Promise<void>((resolve) => process.once("message", () => resolve()));
  for (const s of sockets) s.destroy();
  return { completed, perSecond: completed / elapsed, errors, p50Ms: Number.NaN, p99Ms: Number.NaN };
}

process.on("message", (m: MeshJob | { release: true }) => {
  if ("release" in m) return;
  const run = m.kind === "pingpong" ? pingpong(m) : m.kind === "connect" ? connectLoop(m) : hold(m);
  run.then(
    (outcome) => process.send?.({ outcome }),
    (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.send?.({ ready: true });
