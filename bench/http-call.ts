import { request } from "node:http";

// Plain node:http calls from the runner (setup, checks, the fan-out write). A fresh connection
// per call: nothing here is on a measured path except `firstOk`, where a connection refused is
// exactly the signal being polled for.

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpCall(url: string, method = "GET", body?: string, timeoutMs = 10_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.once("error", reject);
    req.end(body);
  });
}

/** Polls `url` every `intervalMs` until it answers 200; resolves with the moment it did (performance.now()). */
export async function firstOk(url: string, deadlineMs: number, intervalMs: number, stillAlive: () => boolean): Promise<number> {
  const giveUpAt = performance.now() + deadlineMs;
  while (performance.now() < giveUpAt) {
    if (!stillAlive()) throw new Error(`process died before ${url} answered`);
    try {
      const answer = await httpCall(url, "GET", undefined, 1000);
      if (answer.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
}

export function consulIndex(answer: HttpAnswer): number {
  const raw = answer.headers["x-consul-index"];
  const index = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isInteger(index) || index <= 0) throw new Error(`no X-Consul-Index in answer (status ${answer.status})`);
  return index;
}
