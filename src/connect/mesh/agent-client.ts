// The data plane's view of the local agent's HTTP API: a few JSON calls plus the blocking-query
// headers (X-Consul-Index, X-Consul-ContentHash). fetch keeps connections alive, which matters
// for authorize calls on cache misses.
import { AgentStatusError, ConnectError } from "../../errors/connect-errors.ts";

export interface AgentAnswer<T> {
  body: T;
  /** X-Consul-Index, 0 when absent. */
  index: number;
  /** X-Consul-ContentHash, "" when absent. */
  contentHash: string;
}

export type QueryParams = Readonly<Record<string, string | undefined>>;

/** Accepts "http://host:port", "https://host:port" or a bare "host:port" (http, as CONSUL_HTTP_ADDR does). */
export function normalizeAgentAddress(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed === "") return "http://127.0.0.1:8500";
  const withScheme = /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConnectError("AgentError", `invalid agent address "${raw}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConnectError("AgentError", `agent address "${raw}": unsupported scheme ${url.protocol.replace(":", "")} (use http or https)`);
  return `${url.protocol}//${url.host}`;
}

export class AgentClient {
  readonly base: string;
  readonly #token: string;

  constructor(base: string, token: string) {
    this.base = normalizeAgentAddress(base);
    this.#token = token;
  }

  #headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.#token !== "") h["X-Consul-Token"] = this.#token;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }

  #url(path: string, query: QueryParams | undefined): string {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    return url.toString();
  }

  async get<T>(path: string, query?: QueryParams, signal?: AbortSignal): Promise<AgentAnswer<T>> {
    return this.#send<T>("GET", path, query, undefined, signal);
  }

  async send<T>(method: "PUT" | "POST", path: string, body: unknown, signal?: AbortSignal): Promise<AgentAnswer<T>> {
    return this.#send<T>(method, path, undefined, body, signal);
  }

  async #send<T>(method: string, path: string, query: QueryParams | undefined, body: unknown, signal: AbortSignal | undefined): Promise<AgentAnswer<T>> {
    let res: Response;
    try {
      res = await fetch(this.#url(path, query), {
        method,
        headers: this.#headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw new ConnectError("Closed", "request cancelled", { cause: err });
      throw new ConnectError("AgentError", `${method} ${path}: ${errorText(err)}`, { cause: err });
    }
    const text = await res.text();
    if (res.status !== 200) throw new AgentStatusError(path, res.status, text);
    const index = Number(res.headers.get("x-consul-index") ?? "0");
    return {
      body: (text === "" ? null : JSON.parse(text)) as T,
      index: Number.isFinite(index) ? index : 0,
      contentHash: res.headers.get("x-consul-contenthash") ?? "",
    };
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
