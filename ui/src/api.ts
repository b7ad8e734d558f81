// The agent's HTTP API as the pages use it. Every call carries Consul UI's headers; the token
// (if one was stored under localStorage `consul:token`) goes as X-Consul-Token.

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function token(): string {
  try {
    const stored = localStorage.getItem("consul:token");
    if (!stored) return "";
    const parsed = JSON.parse(stored) as { SecretID?: unknown };
    return typeof parsed.SecretID === "string" ? parsed.SecretID : "";
  } catch {
    return "";
  }
}

function headers(): Record<string, string> {
  const h: Record<string, string> = { "X-Requested-With": "XMLHttpRequest" };
  const t = token();
  if (t !== "") h["X-Consul-Token"] = t;
  return h;
}

export interface ApiResult<T> {
  data: T;
  index: string | null;
}

/** GET a JSON answer; a 404 with an empty body (unknown node, missing key) is `undefined`. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<ApiResult<T | undefined>> {
  const res = await fetch(path, { headers: headers(), signal });
  const index = res.headers.get("X-Consul-Index");
  if (res.status === 404) {
    await res.text();
    return { data: undefined, index };
  }
  if (!res.ok) throw new ApiError(res.status, (await res.text()) || res.statusText);
  return { data: (await res.json()) as T, index };
}

const keyPath = (key: string): string => `/v1/kv/${key.split("/").map(encodeURIComponent).join("/")}`;

export function kvKeysPath(prefix: string, dc: string): string {
  return `${keyPath(prefix)}?keys&separator=/&dc=${encodeURIComponent(dc)}`;
}

export function kvEntryPath(key: string, dc: string): string {
  return `${keyPath(key)}?dc=${encodeURIComponent(dc)}`;
}

export async function kvPut(key: string, value: string, dc: string): Promise<void> {
  const res = await fetch(kvEntryPath(key, dc), { method: "PUT", headers: headers(), body: value });
  // Read to the end either way: an unread answer is cut (and reported failed) when the page goes.
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text || res.statusText);
}

/** Deletes a key, or (key ending in "/") a folder and everything under it. */
export async function kvDelete(key: string, dc: string): Promise<void> {
  const res = await fetch(`${kvEntryPath(key, dc)}${key.endsWith("/") ? "&recurse" : ""}`, { method: "DELETE", headers: headers() });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text || res.statusText);
}

/** A KV value (base64 in the API) as text. */
export function decodeValue(value: string | null): string {
  if (value === null) return "";
  const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** An intention as `/v1/connect/intentions` lists it (the fields the UI shows). */
export interface IntentionJson {
  ID: string;
  SourceName: string;
  DestinationName: string;
  Action?: "allow" | "deny";
  Permissions?: unknown[];
  Description?: string;
  Meta?: Record<string, string>;
  Precedence: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export function intentionsPath(dc: string): string {
  return `/v1/connect/intentions?dc=${encodeURIComponent(dc)}`;
}

export function intentionExactPath(source: string, destination: string, dc: string): string {
  const q = new URLSearchParams({ source, destination, dc });
  return `/v1/connect/intentions/exact?${q.toString()}`;
}

/** Creates or replaces the intention source → destination, as Consul's UI does (PUT …/exact). */
export async function intentionPut(source: string, destination: string, fields: { Action: "allow" | "deny"; Description: string; Meta?: Record<string, string> }, dc: string): Promise<void> {
  const body = JSON.stringify({ SourceName: source, DestinationName: destination, SourceType: "consul", ...fields });
  const res = await fetch(intentionExactPath(source, destination, dc), { method: "PUT", headers: { ...headers(), "Content-Type": "application/json; charset=utf-8" }, body });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text || res.statusText);
}

export async function intentionDelete(source: string, destination: string, dc: string): Promise<void> {
  const res = await fetch(intentionExactPath(source, destination, dc), { method: "DELETE", headers: headers() });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text || res.statusText);
}
