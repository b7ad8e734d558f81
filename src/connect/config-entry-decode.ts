import type { ConfigEntryFields } from "../model/config-entry.ts";
import { intentionPrecedence, WILDCARD } from "./intention-precedence.ts";
import { ConfigEntryError, decodeFieldsSteps } from "./config-entry-shape.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { EXPORTED_SERVICES, INGRESS_GATEWAY, KIND_FIELDS, MESH, PROXY_DEFAULTS_FIELDS, SERVICE_DEFAULTS_FIELDS, SERVICE_RESOLVER, SERVICE_ROUTER, SERVICE_SPLITTER, TERMINATING_GATEWAY, validateKind } from "./config-entry-kinds.ts";

// Decoding and validation of config entries written through /v1/config (Consul's
// DecodeConfigEntry + Validate). Keys match case-insensitively and in snake_case, as Consul's
// decoder does; fields a kind has but this agent does not act on are refused by name rather
// than stored and ignored.

export { ConfigEntryError };

export const SERVICE_INTENTIONS = "service-intentions";
export const SERVICE_DEFAULTS = "service-defaults";
export const PROXY_DEFAULTS = "proxy-defaults";

/** Consul's kinds that are not (yet) stored here; writing one says so instead of pretending. */
const KNOWN_UNSUPPORTED = new Set([
  "api-gateway",
  "bound-api-gateway",
  "inline-certificate",
  "http-route",
  "tcp-route",
  "sameness-group",
  "jwt-provider",
  "control-plane-request-limit",
  "file-system-certificate",
]);

export const SUPPORTED_KINDS = [
  SERVICE_INTENTIONS, SERVICE_DEFAULTS, PROXY_DEFAULTS, MESH, SERVICE_RESOLVER, SERVICE_SPLITTER, SERVICE_ROUTER, INGRESS_GATEWAY, TERMINATING_GATEWAY, EXPORTED_SERVICES,
] as const;

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function canon(k: string): string {
  return k.replaceAll("_", "").toLowerCase();
}

/** Picks the known fields of `raw` (any case, snake_case too) into their canonical spelling; anything else is refused. */
function fields(raw: Raw, known: readonly string[], where: string): Raw {
  const byCanon = canonicalNamesOf(known);
  const out: Raw = {};
  for (const [k, v] of Object.entries(raw)) {
    const name = byCanon.get(k) ?? byCanon.get(canon(k));
    if (!name) throw new ConfigEntryError(`${where}invalid config key "${k}"`);
    if (v !== null && v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * Each key list's names by canon() (and as spelled), built once per list rather than once per
 * decoded object: 12,000 intention sources built it 12,000 times.
 */
const canonicalNames = new WeakMap<readonly string[], Map<string, string>>();

function canonicalNamesOf(known: readonly string[]): Map<string, string> {
  let names = canonicalNames.get(known);
  if (names === undefined) {
    names = new Map(known.map((k) => [canon(k), k]));
    for (const k of known) names.set(k, k);
    canonicalNames.set(known, names);
  }
  return names;
}

function str(o: Raw, key: string, where: string): string {
  const v = o[key];
  if (v === undefined) return "";
  if (typeof v !== "string") throw new ConfigEntryError(`${where}${key} must be a string`);
  return v;
}

function strMap(o: Raw, key: string, where: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== "string")) throw new ConfigEntryError(`${where}${key} must be a map of strings`);
  return v as Record<string, string>;
}

function checkWildcard(name: string, what: string): void {
  if (name.includes(WILDCARD) && name !== WILDCARD) throw new ConfigEntryError(`${what}: wildcard character '*' cannot be used with partial values`);
}

function checkDefaultScope(o: Raw, where: string): void {
  for (const key of ["Namespace", "Partition"]) {
    const v = str(o, key, where);
    if (v !== "" && v !== "default" && v !== WILDCARD) throw new ConfigEntryError(`${where}${key}: ${key === "Namespace" ? "Namespaces" : "Partitions"} are a Consul Enterprise feature`);
  }
}

const INTENTION_KEYS = ["Kind", "Name", "Namespace", "Partition", "Meta", "Sources", "CreateIndex", "ModifyIndex"];

/** The kind of a raw entry, refusing unknown ones with Consul's message. */
export function kindOf(raw: Raw): string {
  const entry = Object.entries(raw).find(([k]) => canon(k) === "kind");
  const kind = entry?.[1];
  if (typeof kind !== "string" || kind === "") throw new ConfigEntryError("Payload does not contain a kind/Kind key at the top level");
  checkKind(kind);
  return kind;
}

export function checkKind(kind: string): void {
  if (KNOWN_UNSUPPORTED.has(kind)) throw new ConfigEntryError(`config entry kind "${kind}" is not supported by this agent yet`);
  if (!(SUPPORTED_KINDS as readonly string[]).includes(kind)) throw new ConfigEntryError(`invalid config entry kind: ${kind}`);
}

export interface DecodeContext {
  /** The protocol a destination service speaks (service-defaults, then proxy-defaults, then tcp). */
  protocolOf(service: string): string;
  /** Whether the mesh entry sets AllowEnablingPermissiveMutualTLS (absent: false). */
  allowsPermissiveMutualTLS?(): boolean;
}

const MUTUAL_TLS_MODES = ["", "strict", "permissive"];
const PROXY_MODES = ["", "direct", "transparent"];
const MESH_GATEWAY_MODES = ["", "none", "local", "remote"];

/** Checks shared by service-defaults and proxy-defaults (Consul's validation of their common fields). */
function checkProxyFields(o: Record<string, unknown>, ctx: DecodeContext): void {
  const mode = typeof o.Mode === "string" ? o.Mode : "";
  if (!PROXY_MODES.includes(mode)) throw new ConfigEntryError(`invalid proxy mode: ${JSON.stringify(mode)}`);
  const mtls = typeof o.MutualTLSMode === "string" ? o.MutualTLSMode : "";
  if (!MUTUAL_TLS_MODES.includes(mtls)) throw new ConfigEntryError(`Invalid MutualTLSMode ${JSON.stringify(mtls)}. Must be one of "", "strict", or "permissive".`);
  if (mtls === "permissive" && !(ctx.allowsPermissiveMutualTLS?.() ?? false)) {
    throw new ConfigEntryError(`MutualTLSMode=permissive is insecure. Set AllowEnablingPermissiveMutualTLS=true in the "mesh" config entry to allow this change.`);
  }
  const mg = (o.MeshGateway as Record<string, unknown> | undefined)?.Mode;
  if (typeof mg === "string" && !MESH_GATEWAY_MODES.includes(mg)) throw new ConfigEntryError(`Invalid Mode field for MeshGateway: ${JSON.stringify(mg)}`);
}

/** Decodes and validates an entry; the result is what is stored (Precedence filled in, Sources sorted). */
export function decodeConfigEntry(raw: Raw, ctx: DecodeContext): ConfigEntryFields {
  return runWhole(decodeConfigEntrySteps(raw, ctx));
}

/**
 * decodeConfigEntry as work that pauses between the elements of its lists and maps (issue 12
 * item 6): an entry near the 512 KiB body cap holds ~12,000 sources or overrides, a walk of
 * tens of ms in one turn. PUT /v1/config runs it in slices.
 */
export function* decodeConfigEntrySteps(raw: Raw, ctx: DecodeContext): SlicedWork<ConfigEntryFields> {
  const kind = kindOf(raw);
  if (kind !== SERVICE_INTENTIONS) return yield* decodeShaped(kind, raw, ctx);
  const o = fields(raw, INTENTION_KEYS, "");
  const name = str(o, "Name", "");
  checkDefaultScope(o, "");
  const meta = strMap(o, "Meta", "");
  if (name === "") throw new ConfigEntryError("Name is required");
  checkWildcard(name, "Name");
  const sources = yield* decodeSourcesSteps(o.Sources, name, ctx);
  return { Kind: kind, Name: name, Sources: sources, ...(meta ? { Meta: meta } : {}) };
}

/** Kinds decoded from their field shapes (config-entry-kinds.ts), then validated. */
function* decodeShaped(kind: string, raw: Raw, ctx: DecodeContext): SlicedWork<ConfigEntryFields> {
  const shape = kind === SERVICE_DEFAULTS ? SERVICE_DEFAULTS_FIELDS : kind === PROXY_DEFAULTS ? PROXY_DEFAULTS_FIELDS : KIND_FIELDS[kind];
  const o = yield* decodeFieldsSteps(raw, shape, "");
  delete o.CreateIndex;
  delete o.ModifyIndex;
  o.Kind = kind;
  checkDefaultScope(o, "");
  delete o.Namespace;
  delete o.Partition;
  if (kind === MESH && (o.Name === undefined || o.Name === "")) o.Name = "mesh";
  // Consul's mesh entry always carries these (no omitempty), so clients read them back.
  if (kind === MESH) {
    o.TransparentProxy = { MeshDestinationsOnly: false, ...(o.TransparentProxy as Raw | undefined) };
    if (o.HTTP !== undefined) o.HTTP = { SanitizeXForwardedClientCert: false, ...(o.HTTP as Raw) };
  }
  const name = typeof o.Name === "string" ? o.Name : "";
  if (kind === SERVICE_DEFAULTS) {
    if (name === "") throw new ConfigEntryError("Name is required");
    if (name === WILDCARD) throw new ConfigEntryError("service-defaults name must not be a wildcard");
    if (typeof o.Protocol === "string") o.Protocol = o.Protocol.toLowerCase();
    checkProtocol(typeof o.Protocol === "string" ? o.Protocol : "", "Protocol");
    if (o.RateLimits !== undefined) throw new ConfigEntryError("invalid rate_limits config. Rate limiting is a consul enterprise feature");
    checkProxyFields(o, ctx);
  } else if (kind === PROXY_DEFAULTS) {
    if (name !== "global") throw new ConfigEntryError(`invalid name ("${name}"), only "global" is supported`);
    const config = (o.Config ?? {}) as Raw;
    if (config.protocol !== undefined) {
      if (typeof config.protocol !== "string") throw new ConfigEntryError("Config.protocol must be a string");
      config.protocol = config.protocol.toLowerCase();
      checkProtocol(config.protocol as string, "Config.protocol");
    }
    o.Config = config;
    checkProxyFields(o, ctx);
  } else {
    validateKind(kind, o);
  }
  // Consul's JSON puts Meta after a kind's own fields.
  const { Meta: meta, ...fieldsOnly } = o;
  return { ...fieldsOnly, Kind: kind, Name: name, ...(meta === undefined ? {} : { Meta: meta }) };
}

function checkProtocol(p: string, where: string): void {
  if (p !== "" && !["tcp", "http", "http2", "grpc"].includes(p)) throw new ConfigEntryError(`${where}: unknown protocol "${p}" (tcp, http, http2 or grpc)`);
}

const SOURCE_KEYS = ["Name", "Namespace", "Partition", "Peer", "SamenessGroup", "Action", "Permissions", "Precedence", "Type", "Description", "LegacyID", "LegacyMeta", "LegacyCreateTime", "LegacyUpdateTime"];
const L7_PROTOCOLS = new Set(["http", "http2", "grpc"]);

/**
 * Validates the sources of a service-intentions entry. `legacy` allows LegacyID and the legacy
 * timestamps (the /v1/connect/intentions API writes them; /v1/config may not).
 */
export function decodeSources(value: unknown, destination: string, ctx: DecodeContext, legacy = false): Raw[] {
  return runWhole(decodeSourcesSteps(value, destination, ctx, legacy));
}

/** decodeSources as work that pauses after each source. */
function* decodeSourcesSteps(value: unknown, destination: string, ctx: DecodeContext, legacy = false): SlicedWork<Raw[]> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigEntryError("Sources must be a list");
  const seen = new Set<string>();
  const out: Raw[] = [];
  for (let i = 0; i < value.length; i++) {
    const rawSource: unknown = value[i];
    const where = `Sources[${i}].`;
    if (!isObj(rawSource)) throw new ConfigEntryError(`Sources[${i}] must be an object`);
    const s = fields(rawSource, SOURCE_KEYS, where);
    const name = str(s, "Name", where);
    if (name === "") throw new ConfigEntryError(`Sources[${i}].Name is required`);
    checkWildcard(name, `Sources[${i}].Name`);
    checkDefaultScope(s, where);
    if (str(s, "Peer", where) !== "" || str(s, "SamenessGroup", where) !== "") throw new ConfigEntryError(`Sources[${i}]: peers and sameness groups are not supported by this agent yet`);
    if (seen.has(name)) throw new ConfigEntryError(`Sources[${i}] defines "${name}" more than once`);
    seen.add(name);
    const type = str(s, "Type", where) || "consul";
    if (type !== "consul") throw new ConfigEntryError(`Sources[${i}].Type must be set to 'consul'`);
    const description = str(s, "Description", where);
    if (description.length > 512) throw new ConfigEntryError(`Sources[${i}].Description exceeds maximum length 512`);
    if (!legacy) {
      for (const k of ["LegacyID", "LegacyCreateTime", "LegacyUpdateTime"]) if (s[k] !== undefined && s[k] !== "") throw new ConfigEntryError(`Sources[${i}].${k} must be omitted`);
      if (s.LegacyMeta !== undefined && isObj(s.LegacyMeta) && Object.keys(s.LegacyMeta).length > 0) throw new ConfigEntryError(`Sources[${i}].LegacyMeta must be omitted`);
    }
    const action = str(s, "Action", where);
    const permissions = s.Permissions === undefined ? [] : s.Permissions;
    if (!Array.isArray(permissions)) throw new ConfigEntryError(`Sources[${i}].Permissions must be a list`);
    if (permissions.length > 0) {
      if (action !== "") throw new ConfigEntryError(`Sources[${i}].Action must be omitted if Permissions are specified`);
      permissions.forEach((p, j) => (permissions[j] = validatePermission(p, `Sources[${i}].Permissions[${j}]`)));
      if (destination !== WILDCARD) {
        const protocol = ctx.protocolOf(destination);
        if (!L7_PROTOCOLS.has(protocol)) {
          throw new ConfigEntryError(`service "${destination}" has protocol "${protocol}", which does not support L7 intentions (Sources[${i}].Permissions need http, http2 or grpc)`);
        }
      }
    } else if (action !== "allow" && action !== "deny") {
      throw new ConfigEntryError(`Sources[${i}].Action must be set to 'allow' or 'deny'`);
    }
    const source: Raw = { Name: name };
    if (action !== "") source.Action = action;
    if (permissions.length > 0) source.Permissions = permissions;
    source.Precedence = intentionPrecedence({ ns: "default", name }, { ns: "default", name: destination });
    source.Type = "consul";
    if (description !== "") source.Description = description;
    for (const k of ["LegacyID", "LegacyCreateTime", "LegacyUpdateTime"]) if (typeof s[k] === "string" && s[k] !== "") source[k] = s[k];
    const legacyMeta = strMap(s, "LegacyMeta", where);
    if (legacyMeta && Object.keys(legacyMeta).length > 0) source.LegacyMeta = legacyMeta;
    out.push(source);
    yield;
  }
  return sortSources(out);
}

/** Highest precedence first; ties by name, so the stored order is deterministic. */
export function sortSources(sources: Raw[]): Raw[] {
  return sources.sort((a, b) => {
    const d = (b.Precedence as number) - (a.Precedence as number);
    if (d !== 0) return d;
    const an = a.Name as string;
    const bn = b.Name as string;
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);
const HEADER_MATCHES = ["Present", "Exact", "Prefix", "Suffix", "Contains", "Regex"];

/** Validates one L7 permission and returns it in Consul's spelling. */
function validatePermission(p: unknown, where: string): Raw {
  if (!isObj(p)) throw new ConfigEntryError(`${where} must be an object`);
  const perm = fields(p, ["Action", "HTTP", "JWT"], `${where}.`);
  if (perm.JWT !== undefined) throw new ConfigEntryError(`${where}.JWT is not supported by this agent yet`);
  if (perm.Action !== "allow" && perm.Action !== "deny") throw new ConfigEntryError(`${where}.Action must be set to 'allow' or 'deny'`);
  if (perm.HTTP === undefined) throw new ConfigEntryError(`${where}.HTTP is required`);
  if (!isObj(perm.HTTP)) throw new ConfigEntryError(`${where}.HTTP must be an object`);
  const http = fields(perm.HTTP, ["PathExact", "PathPrefix", "PathRegex", "Header", "Methods"], `${where}.HTTP.`);
  const paths = ["PathExact", "PathPrefix", "PathRegex"].filter((k) => http[k] !== undefined && http[k] !== "");
  if (paths.length === 0 && (http.Header === undefined || (Array.isArray(http.Header) && http.Header.length === 0)) && (http.Methods === undefined || (Array.isArray(http.Methods) && http.Methods.length === 0))) {
    throw new ConfigEntryError(`${where}.HTTP should not be empty`);
  }
  if (paths.length > 1) throw new ConfigEntryError(`${where}.HTTP should only contain at most one of PathExact, PathPrefix, or PathRegex`);
  for (const k of ["PathExact", "PathPrefix"]) {
    const v = http[k];
    if (v !== undefined && (typeof v !== "string" || (v !== "" && !v.startsWith("/")))) throw new ConfigEntryError(`${where}.HTTP.${k} doesn't start with '/': ${JSON.stringify(v)}`);
  }
  if (http.PathRegex !== undefined) {
    try {
      new RegExp(String(http.PathRegex));
    } catch {
      throw new ConfigEntryError(`${where}.HTTP.PathRegex is not a valid regular expression`);
    }
  }
  if (http.Header !== undefined) {
    if (!Array.isArray(http.Header)) throw new ConfigEntryError(`${where}.HTTP.Header must be a list`);
    http.Header.forEach((h, k) => {
      const hw = `${where}.HTTP.Header[${k}]`;
      if (!isObj(h)) throw new ConfigEntryError(`${hw} must be an object`);
      const hf = fields(h, ["Name", "Invert", "IgnoreCase", ...HEADER_MATCHES], `${hw}.`);
      if (typeof hf.Name !== "string" || hf.Name === "") throw new ConfigEntryError(`${hw} missing required Name field`);
      const matches = HEADER_MATCHES.filter((m) => hf[m] !== undefined && hf[m] !== "" && hf[m] !== false);
      if (matches.length > 1) throw new ConfigEntryError(`${hw} should only contain one of Present, Exact, Prefix, Suffix, Contains, or Regex`);
    });
  }
  if (http.Methods !== undefined) {
    if (!Array.isArray(http.Methods)) throw new ConfigEntryError(`${where}.HTTP.Methods must be a list`);
    const seen = new Set<string>();
    for (const m of http.Methods) {
      if (typeof m !== "string" || !METHODS.has(m)) throw new ConfigEntryError(`${where}.HTTP.Methods contains an invalid method ${JSON.stringify(m)}`);
      if (seen.has(m)) throw new ConfigEntryError(`${where}.HTTP.Methods contains ${JSON.stringify(m)} more than once`);
      seen.add(m);
    }
  }
  if (Array.isArray(http.Header)) {
    http.Header = http.Header.map((h, k) => fields(h as Raw, ["Name", "Invert", "IgnoreCase", ...HEADER_MATCHES], `${where}.HTTP.Header[${k}].`));
  }
  return { Action: perm.Action, HTTP: http };
}

/** Protocols a set of entries declares itself (bootstrap entries are checked before any is stored). */
export function protocolsDeclaredBy(entries: readonly ConfigEntryFields[], fallback: DecodeContext): DecodeContext {
  return {
    protocolOf(service: string): string {
      const sd = entries.find((e) => e.Kind === SERVICE_DEFAULTS && e.Name === service);
      if (typeof sd?.Protocol === "string" && sd.Protocol !== "") return sd.Protocol;
      const pd = entries.find((e) => e.Kind === PROXY_DEFAULTS);
      const config = pd?.Config as Record<string, unknown> | undefined;
      if (typeof config?.protocol === "string" && config.protocol !== "") return config.protocol;
      return fallback.protocolOf(service);
    },
    allowsPermissiveMutualTLS(): boolean {
      const mesh = entries.find((e) => e.Kind === MESH);
      if (mesh) return mesh.AllowEnablingPermissiveMutualTLS === true;
      return fallback.allowsPermissiveMutualTLS?.() ?? false;
    },
  };
}

const KIND_ORDER = [MESH, PROXY_DEFAULTS, SERVICE_DEFAULTS];
/** Fields that are lists even with one element (Consul's PatchSliceOfMaps skip list, for these kinds). */
const LIST_FIELDS = new Set(["sources", "permissions", "header"]);

/** HCL config turns a one-element list of objects into an object; put known list fields back. */
function relist(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => relist(x));
  if (!isObj(v)) return v;
  if (LIST_FIELDS.has(canon(key))) return [relist(v)];
  const out: Raw = {};
  for (const [k, x] of Object.entries(v)) out[k] = relist(x, k);
  return out;
}

/**
 * Decodes `config_entries.bootstrap`: defaults first, so intentions are checked against the
 * protocols the same list declares. Throws ConfigEntryError naming the entry's position.
 */
export function decodeBootstrapEntries(raw: readonly unknown[], fallback: DecodeContext): ConfigEntryFields[] {
  const indexed = raw.map((original, i) => {
    const r = relist(original);
    if (!isObj(r)) throw new ConfigEntryError(`config_entries.bootstrap[${i}]: must be an object`);
    let kind: string;
    try {
      kind = kindOf(r);
    } catch (err) {
      throw new ConfigEntryError(`config_entries.bootstrap[${i}]: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { r, i, rank: KIND_ORDER.includes(kind) ? KIND_ORDER.indexOf(kind) : KIND_ORDER.length };
  });
  indexed.sort((a, b) => a.rank - b.rank || a.i - b.i);
  const out: ConfigEntryFields[] = [];
  for (const { r, i } of indexed) {
    try {
      out.push(decodeConfigEntry(r, protocolsDeclaredBy(out, fallback)));
    } catch (err) {
      throw new ConfigEntryError(`config_entries.bootstrap[${i}]: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}
