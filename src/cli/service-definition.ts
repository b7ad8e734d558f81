// Service definitions read from files for `services register|deregister`: the `service` /
// `services` blocks of agent config in JSON or HCL, keys in either snake_case or CamelCase,
// turned into the PascalCase body of PUT /v1/agent/service/register (what consul's api sends).
import { readFile, readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { parseHcl } from "../config/hcl.ts";

export type ServiceRegistration = Record<string, unknown>;

/** Keys whose values are lists of blocks; HCL's one-element block lists elsewhere are unwrapped. */
const LIST_KEYS = new Set(["services", "checks", "upstreams", "paths", "envoyextensions", "envoy_extensions"]);
/** Maps whose keys are user data and must not be re-cased. */
const USER_KEYED = new Set(["meta", "nodemeta", "node_meta", "header", "taggedaddresses", "tagged_addresses"]);
/** Subtrees passed through untouched (proxy/extension config is free-form). */
const OPAQUE = new Set(["config", "arguments"]);

const ACRONYMS: Record<string, string> = {
  id: "ID",
  http: "HTTP",
  https: "HTTPS",
  tcp: "TCP",
  udp: "UDP",
  grpc: "GRPC",
  tls: "TLS",
  ttl: "TTL",
  dns: "DNS",
  ip: "IP",
  url: "URL",
  os: "OS",
  h2ping: "H2PING",
};

const SPECIAL_KEYS: Record<string, string> = {
  h2ping_use_tls: "H2PingUseTLS",
  args: "ScriptArgs",
};

/** snake_case or camelCase config key → the API's PascalCase field name. */
export function apiFieldName(key: string): string {
  const special = SPECIAL_KEYS[key.toLowerCase()];
  if (special !== undefined) return special;
  if (!key.includes("_")) {
    const acronym = ACRONYMS[key.toLowerCase()];
    if (acronym !== undefined) return acronym;
    return key[0].toUpperCase() + key.slice(1);
  }
  return key
    .split("_")
    .filter((part) => part !== "")
    .map((part) => ACRONYMS[part.toLowerCase()] ?? part[0].toUpperCase() + part.slice(1))
    .join("");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function normalizeValue(key: string, value: unknown, fromHcl: boolean): unknown {
  const lower = key.toLowerCase();
  if (OPAQUE.has(lower)) return unwrapHclBlocks(value, fromHcl);
  if (fromHcl && !LIST_KEYS.has(lower) && Array.isArray(value) && value.length === 1 && isPlainObject(value[0])) {
    return normalizeValue(key, value[0], fromHcl);
  }
  if (USER_KEYED.has(lower) && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isPlainObject(v) || (Array.isArray(v) && v.some(isPlainObject)) ? normalizeObject(unwrapOne(v, fromHcl), fromHcl) : v;
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => (isPlainObject(item) ? normalizeObject(item, fromHcl) : item));
  if (isPlainObject(value)) return normalizeObject(value, fromHcl);
  return value;
}

function unwrapOne(value: unknown, fromHcl: boolean): unknown {
  return fromHcl && Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function unwrapHclBlocks(value: unknown, fromHcl: boolean): unknown {
  if (!fromHcl) return value;
  const single = unwrapOne(value, fromHcl);
  if (!isPlainObject(single)) return single;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(single)) out[k] = unwrapHclBlocks(v, fromHcl);
  return out;
}

function normalizeObject(value: unknown, fromHcl: boolean): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[apiFieldName(key)] = normalizeValue(key, inner, fromHcl);
  return out;
}

/** Pulls `service` (one or many) and `services` out of one parsed config document. */
export function servicesFromDocument(document: unknown, fromHcl: boolean): ServiceRegistration[] {
  if (!isPlainObject(document)) return [];
  const found: ServiceRegistration[] = [];
  for (const [key, value] of Object.entries(document)) {
    const lower = key.toLowerCase();
    if (lower !== "service" && lower !== "services") continue;
    const list = Array.isArray(value) ? value : [value];
    for (const item of list) {
      if (isPlainObject(item)) found.push(normalizeObject(item, fromHcl) as ServiceRegistration);
    }
  }
  return found;
}

async function parseConfigFile(path: string): Promise<{ document: unknown; fromHcl: boolean }> {
  const text = await readFile(path, "utf8");
  const extension = extname(path).toLowerCase();
  if (extension === ".json") return { document: JSON.parse(text) as unknown, fromHcl: false };
  if (extension === ".hcl") return { document: (await parseHcl(path, text)) as unknown, fromHcl: true };
  try {
    return { document: JSON.parse(text) as unknown, fromHcl: false };
  } catch {
    return { document: (await parseHcl(path, text)) as unknown, fromHcl: true };
  }
}

/** Reads files (and directories' *.json / *.hcl, in lexical order) and returns every service. */
export async function servicesFromFiles(paths: readonly string[]): Promise<ServiceRegistration[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (err) {
      // Consul reads service files through its config builder: same wording as `agent -config-file`.
      throw new Error(`config: Open failed on ${path}. open ${path}: ${goErrnoText(err)}`, { cause: err });
    }
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) {
        if ([".json", ".hcl"].includes(extname(entry).toLowerCase())) files.push(join(path, entry));
      }
    } else {
      files.push(path);
    }
  }
  const services: ServiceRegistration[] = [];
  for (const file of files) {
    let parsed: { document: unknown; fromHcl: boolean };
    try {
      parsed = await parseConfigFile(file);
    } catch (err) {
      throw new Error(`failed to parse ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    services.push(...servicesFromDocument(parsed.document, parsed.fromHcl));
  }
  return services;
}

/** Go's text for a failed open (os.PathError without the path). */
function goErrnoText(err: unknown): string {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "ENOTDIR":
      return "not a directory";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
