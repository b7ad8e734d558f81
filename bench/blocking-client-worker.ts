import { connect, type Socket } from "node:net";
import type { FanoutJob, FanoutParked, FanoutReport, FanoutReportRequest } from "./fanout.ts";

// Child process: holds `count` blocking queries open on one URL, one keep-alive connection
// each, and timestamps every answer so the runner can tell how long after the write each
// waiter heard about it. Several of these split the 10,000 waiters between them.
//
// It speaks HTTP/1.1 over plain sockets rather than through node:http's client: on a 2-core
// machine the clients share the CPU with the server, and node:http's per-response machinery
// (ClientRequest, IncomingMessage, agent pool bookkeeping) would make the harness, not the
// server, the larger part of the measured second. Answers are Content-Length or chunked.

const OPEN_BATCH = 200;
const HEADER_END = Buffer.from("\r\n\r\n");
const CHUNKED_END = Buffer.from("0\r\n\r\n");

function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

function isJob(m: unknown): m is FanoutJob {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "job";
}

function isReportRequest(m: unknown): m is FanoutReportRequest {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "report-request";
}

const answeredAt: number[] = [];
let failures = 0;
let non200 = 0;
let firstFailure = "";
let settled = 0;
let onSettled: () => void = () => {};
const sockets: Socket[] = [];

function settle(): void {
  settled++;
  onSettled();
}

/** True once `buffered` holds one whole HTTP response; counts a non-200 status. */
function completeResponse(buffered: Buffer): { done: boolean; status: number } {
  const headerEnd = buffered.indexOf(HEADER_END);
  if (headerEnd < 0) return { done: false, status: 0 };
  const head = buffered.subarray(0, headerEnd).toString("latin1");
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) return { done: buffered.length >= headerEnd + 4 + Number(length[1]), status };
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return { done: buffered.subarray(-CHUNKED_END.length).equals(CHUNKED_END), status };
  return { done: true, status };
}

function openOne(url: URL): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    sockets.push(socket);
    let buffered: Buffer = Buffer.alloc(0);
    let answered = false;
    const fail = (err: Error): void => {
      if (answered) return;
      answered = true;
      failures++;
      firstFailure ||= err.message;
      resolve();
      settle();
    };
    socket.once("connect", () => {
      socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`, () => resolve());
    });
    socket.on("data", (chunk: Buffer) => {
      if (answered) return;
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const { done, status } = completeResponse(buffered);
      if (!done) return;
      answered = true;
      answeredAt.push(wallClockMs());
      if (status !== 200) non200++;
      settle();
    });
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("connection closed before an answer")));
  });
}

async function holdQueries(job: FanoutJob): Promise<void> {
  const url = new URL(job.url);
  for (let opened = 0; opened < job.count; opened += OPEN_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = opened; i < Math.min(job.count, opened + OPEN_BATCH); i++) batch.push(openOne(url));
    await Promise.all(batch);
  }
  const parked: FanoutParked = { kind: "parked", sent: job.count, failures, answeredEarly: answeredAt.length };
  process.send?.(parked);
}

function report(request: FanoutReportRequest, total: number): void {
  const deadline = request.writeAt + request.graceMs;
  const send = (): void => {
    clearTimeout(timer);
    onSettled = () => {};
    const message: FanoutReport = {
      kind: "report",
      latenciesMs: answeredAt.map((t) => t - request.writeAt),
      failures,
      non200,
      firstFailure,
    };
    for (const socket of sockets) socket.destroy();
    process.send?.(message, () => process.exit(0));
  };
  const timer = setTimeout(send, Math.max(0, deadline - wallClockMs()));
  onSettled = () => {
    if (settled >= total) send();
  };
  onSettled();
}

let total = 0;
process.on("message", (m: unknown) => {
  if (isJob(m)) {
    total = m.count;
    holdQueries(m).catch((err: unknown) => {
      process.stderr.write(`blocking-client-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
  } else if (isReportRequest(m)) {
    report(m, total);
  }
});
