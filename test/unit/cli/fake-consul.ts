// A canned-response HTTP server standing in for a Consul agent, plus an in-memory CommandIO,
// so command tests check exact stdout/stderr and exit codes without a real agent.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { CommandIO } from "../../../src/cli/command-io.ts";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface CannedResponse {
  readonly status?: number;
  /** Objects are sent as JSON; strings and Buffers as-is. */
  readonly body?: unknown;
}

export type Route = (request: RecordedRequest) => CannedResponse;

export interface FakeConsul {
  readonly address: string;
  readonly requests: RecordedRequest[];
  /** Routes keyed by "METHOD /path" (path without query). */
  readonly routes: Map<string, Route>;
  close(): Promise<void>;
}

export async function startFakeConsul(routes: Record<string, Route | CannedResponse> = {}): Promise<FakeConsul> {
  const table = new Map<string, Route>();
  for (const [key, value] of Object.entries(routes)) table.set(key, typeof value === "function" ? value : () => value);
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      const route = table.get(`${recorded.method} ${recorded.path}`);
      const answer = route ? route(recorded) : { status: 404, body: "" };
      const body = answer.body;
      res.statusCode = answer.status ?? 200;
      if (typeof body === "string" || Buffer.isBuffer(body)) res.end(body);
      else if (body === undefined) res.end();
      else {
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify(body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface CapturedIO extends CommandIO {
  readonly out: () => string;
  readonly err: () => string;
}

class Capture {
  readonly chunks: Buffer[] = [];
  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

export function captureIO(env: Record<string, string | undefined> = {}, stdinText = ""): CapturedIO {
  const stdout = new Capture();
  const stderr = new Capture();
  async function* stdin(): AsyncGenerator<Uint8Array> {
    if (stdinText !== "") yield Buffer.from(stdinText);
  }
  return { stdout, stderr, stdin: stdin(), env, out: () => stdout.text(), err: () => stderr.text() };
}
