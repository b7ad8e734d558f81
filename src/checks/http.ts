import { STATUS_CODES, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { CheckDefinition } from "./definition.ts";
import { errorCode, goDialError, goTlsError, isTlsError } from "./go-errors.ts";
import { OutputTail } from "./output-tail.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import { DEFAULT_NETWORK_TIMEOUT_MS, effectiveIntervalMs, effectiveTimeoutMs, thresholdsOf, type Probe, type ProbeOutcome } from "./scheduler.ts";

// HTTP checks (Consul's checks.CheckHTTP): 2xx passing, 429 warning, anything else critical.
// Output is `HTTP <METHOD> <url>: <status> Output: <last bytes of the body>`; errors carry Go's
// texts. No keep-alive (a fresh connection per run, as Consul, so a half-dead pooled
// connection never decides a check). Redirects are followed (up to 10, Go's client default)
// unless DisableRedirects is set, in which case the 3xx itself is the result.

export const HTTP_CHECK_USER_AGENT = "Consul Health Check";
const DEFAULT_ACCEPT = "text/plain, text/*, */*";
const MAX_REDIRECTS = 10;

export interface HttpProbeOptions {
  url: string;
  method: string;
  header: Record<string, string[]>;
  body: string;
  tlsSkipVerify: boolean;
  tlsServerName: string;
  disableRedirects: boolean;
  outputMaxSize: number;
}

/** Go's url.Error op: the method with only its first letter upper-case ("Get", "Post"). */
function goOp(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
}

function requestHeaders(header: Record<string, string[]>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const present = new Set<string>();
  for (const [name, values] of Object.entries(header)) {
    if (values.length === 0) continue;
    out[name] = values.length === 1 ? values[0] : [...values];
    present.add(name.toLowerCase());
  }
  if (!present.has("user-agent")) out["User-Agent"] = HTTP_CHECK_USER_AGENT;
  if (!present.has("accept")) out["Accept"] = DEFAULT_ACCEPT;
  return out;
}

class ProbeAborted extends Error {}

function hostPort(url: URL): string {
  if (url.port !== "") return url.host;
  return `${url.hostname}:${url.protocol === "https:" ? 443 : 80}`;
}

/** Go's transport error text for a failed request. */
function transportErrorText(url: URL, err: unknown): string {
  if (isTlsError(err)) return goTlsError(err);
  const code = errorCode(err);
  if (code === "ECONNRESET" && err instanceof Error && err.message === "socket hang up") return "EOF";
  if (code?.startsWith("HPE_")) return "net/http: HTTP/1.x transport connection broken: malformed HTTP response";
  return goDialError("tcp", hostPort(url), err);
}

function send(url: URL, method: string, headers: OutgoingHttpHeaders, body: string, opts: HttpProbeOptions, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const tls = url.protocol === "https:";
    const base = { method, headers, agent: false as const };
    const req = tls
      ? httpsRequest(url, { ...base, rejectUnauthorized: !opts.tlsSkipVerify, ...(opts.tlsServerName ? { servername: opts.tlsServerName } : {}) })
      : httpRequest(url, base);
    const onAbort = (): void => {
      req.destroy(new ProbeAborted("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    req.once("response", (res) => {
      signal.removeEventListener("abort", onAbort);
      resolve(res);
    });
    req.once("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    if (signal.aborted) onAbort();
    req.end(body === "" ? undefined : body);
  });
}

/** Reads the body into a bounded tail; an abort (timeout) ends the read with what arrived. */
function readBody(res: IncomingMessage, max: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const tail = new OutputTail(max);
    const finish = (): void => {
      signal.removeEventListener("abort", onAbort);
      resolve(tail.text());
    };
    const onAbort = (): void => {
      res.destroy();
      finish();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    res.on("data", (chunk: Buffer) => tail.write(chunk));
    res.once("end", finish);
    res.once("error", finish);
    res.once("close", finish);
  });
}

function isRedirect(code: number): boolean {
  return code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
}

export function httpProbe(opts: HttpProbeOptions): Probe {
  const method = opts.method === "" ? "GET" : opts.method;
  const op = goOp(method);
  const headers = requestHeaders(opts.header);
  const critical = (output: string): ProbeOutcome => ({ status: "critical", output });

  return async (signal) => {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      return critical(`parse ${JSON.stringify(opts.url)}: invalid URI for request`);
    }
    let shown = opts.url;
    let hopMethod = method;
    let body = opts.body;
    for (let hop = 0; ; hop++) {
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        return critical(`${op} ${JSON.stringify(shown)}: unsupported protocol scheme ${JSON.stringify(url.protocol.slice(0, -1))}`);
      }
      let res: IncomingMessage;
      try {
        res = await send(url, hopMethod, headers, body, opts, signal);
      } catch (err) {
        if (signal.aborted || err instanceof ProbeAborted) {
          return critical(`${op} ${JSON.stringify(shown)}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
        }
        return critical(`${op} ${JSON.stringify(shown)}: ${transportErrorText(url, err)}`);
      }
      const code = res.statusCode ?? 0;
      const location = res.headers.location;
      if (!opts.disableRedirects && isRedirect(code) && location !== undefined) {
        res.resume();
        const next = new URL(location, url);
        if (hop + 1 >= MAX_REDIRECTS) return critical(`${op} ${JSON.stringify(next.href)}: stopped after ${MAX_REDIRECTS} redirects`);
        if ((code === 301 || code === 302 || code === 303) && hopMethod !== "GET" && hopMethod !== "HEAD") {
          hopMethod = "GET";
          body = "";
        }
        url = next;
        shown = next.href;
        continue;
      }
      const text = await readBody(res, opts.outputMaxSize, signal);
      const reason = res.statusMessage || STATUS_CODES[code] || "";
      const output = `HTTP ${method} ${opts.url}: ${code} ${reason} Output: ${text}`;
      if (code >= 200 && code <= 299) return { status: "passing", output };
      if (code === 429) return { status: "warning", output };
      return critical(output);
    }
  };
}

export const httpRunner: CheckRunner = {
  kind: "http",
  start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
    return ctx.scheduler.schedule(
      {
        checkId,
        kind: "http",
        intervalMs: effectiveIntervalMs(def),
        timeoutMs: effectiveTimeoutMs(def, DEFAULT_NETWORK_TIMEOUT_MS),
        thresholds: thresholdsOf(def),
        probe: httpProbe({
          url: def.http,
          method: def.method,
          header: def.header,
          body: def.body,
          tlsSkipVerify: def.tlsSkipVerify,
          tlsServerName: def.tlsServerName,
          disableRedirects: def.disableRedirects,
          outputMaxSize: ctx.outputMaxSize,
        }),
      },
      ctx.sink,
    );
  },
};
