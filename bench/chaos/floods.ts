import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect } from "node:net";
import { encode } from "dns-packet";
import { readRssBytes } from "../proc-stats.ts";

// Load that an attacker or a broken client sends, bounded in count and time, loopback only:
// DNS datagrams from several source addresses, HTTP requests over many connections, and
// blocking queries whose clients hang up. Plus an RSS sampler for the process under fire.

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Samples a process's RSS every `everyMs` until stop(); reports the peak. */
export class RssSampler {
  readonly #pid: number;
  #peak = 0;
  #timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 100) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }

  #sample(): void {
    try {
      this.#peak = Math.max(this.#peak, readRssBytes(this.#pid));
    } catch {
      // the process is gone; the caller notices
    }
  }

  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.#peak;
  }
}

export const MB = 1024 * 1024;

/** The packet of issue 12 item 2: 13 bytes that claim 65,535 records in every section. */
export const CRAFTED_DNS = Buffer.from("12340100ffffffffffffffff00", "hex");

export interface DnsFloodOptions {
  port: number;
  /** Source addresses (127.0.0.0/8), one socket each. */
  sources: string[];
  durationMs: number;
  /** Datagrams per source per second (upper bound; the sender may not keep up). */
  perSourcePerSecond: number;
  /** Hard cap on datagrams sent in all. */
  maxPackets: number;
}

/** Crafted packets, garbage and real questions, round-robin. Returns how many were sent and answered. */
export async function dnsFlood(o: DnsFloodOptions): Promise<{ sent: number; replies: number }> {
  const sockets: UdpSocket[] = [];
  let replies = 0;
  for (const host of o.sources) {
    const s = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(0, host, () => resolve());
    });
    s.on("message", () => replies++);
    s.on("error", () => {});
    sockets.push(s);
  }
  const real = encode({ type: "query", id: 7, flags: 1 << 8, questions: [{ name: "consul.service.consul", type: "SRV", class: "IN" }] });
  const garbage = Buffer.alloc(300, 0xff);
  const kinds = [CRAFTED_DNS, real, CRAFTED_DNS, garbage];
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((o.perSourcePerSecond * tickMs) / 1000));
  let sent = 0;
  const started = performance.now();
  while (performance.now() - started < o.durationMs && sent < o.maxPackets) {
    for (const s of sockets) {
      for (let i = 0; i < perTick && sent < o.maxPackets; i++) {
        s.send(kinds[sent % kinds.length], o.port, "127.0.0.1");
        sent++;
      }
    }
    await pause(tickMs);
  }
  await pause(300);
  for (const s of sockets) s.close();
  return { sent, replies };
}

export interface HttpFloodOptions {
  base: string;
  connections: number;
  durationMs: number;
  maxRequests: number;
}

/**
 * `connections` clients in a loop: big-header reads, KV values over the 512 KiB limit (413,
 * nothing stored), malformed JSON bodies, and blocking reads with a short wait. Nothing is
 * written, so what the agent holds afterwards is request state, not data. Returns the count of
 * requests and of 5xx answers.
 */
export async function httpFlood(o: HttpFloodOptions): Promise<{ requests: number; serverErrors: number; failures: number }> {
  let requests = 0;
  let serverErrors = 0;
  let failures = 0;
  const bigHeader = "x".repeat(15_000);
  const tooBig = "v".repeat(600 * 1024);
  const started = performance.now();
  const client = async (c: number): Promise<void> => {
    for (let n = 0; performance.now() - started < o.durationMs && requests < o.maxRequests; n++) {
      requests++;
      const kind = (c + n) % 4;
      try {
        const res =
          kind === 0
            ? await fetch(`${o.base}/v1/kv/flood/read-${c % 10}`, { headers: { "X-Filler": bigHeader }, signal: AbortSignal.timeout(10_000) })
            : kind === 1
              ? await fetch(`${o.base}/v1/kv/flood/too-big`, { method: "PUT", body: tooBig, signal: AbortSignal.timeout(10_000) })
              : kind === 2
                ? await fetch(`${o.base}/v1/catalog/register`, { method: "PUT", body: '{"Node": "x", "Address": [[[', signal: AbortSignal.timeout(10_000) })
                : await fetch(`${o.base}/v1/kv/flood/read-0?index=1&wait=200ms`, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status >= 500) serverErrors++;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, (_, c) => client(c)));
  return { requests, serverErrors, failures };
}

/**
 * Blocking queries for a key that will not change, each with ~15 KB of headers, whose client
 * hangs up after `hangUpAfterMs`. At most `concurrency` sockets are open at a time.
 */
export async function abandonBlockingQueries(o: { host: string; port: number; count: number; concurrency: number; hangUpAfterMs: number }): Promise<number> {
  const filler = "x".repeat(15_000);
  const request =
    `GET /v1/kv/chaos-blocking?index=99999999&wait=10m HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\n` +
    `X-Filler-1: ${filler.slice(0, 7500)}\r\nX-Filler-2: ${filler.slice(7500)}\r\n\r\n`;
  let next = 0;
  let done = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = connect(o.port, o.host, () => {
        s.write(request);
        setTimeout(() => s.destroy(), o.hangUpAfterMs);
      });
      s.on("error", () => {});
      s.on("close", () => {
        done++;
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    while (next < o.count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  return done;
}
