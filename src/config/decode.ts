// Turns one parsed source (JSON object, or HCL as JSON) into the canonical snake_case shape of
// CONFIG_SCHEMA, collecting every problem so one start-up attempt reports them all. Values are
// checked here, per source, so an error can always name the file it came from.

import { isIP } from "node:net";
import { parseGoDuration } from "../model/duration.ts";
import type { KeyProblem } from "./config-error.ts";
import type { LeafKind, ObjectNode, SchemaNode } from "./schema.ts";

export type RawConfig = Record<string, unknown>;

export interface DecodeResult {
  config: RawConfig;
  /** mapstructure-style type errors, reported before anything else (as Consul does). */
  typeErrors: string[];
  /** Key paths that match nothing in the schema. */
  unknownKeys: string[];
  /** Well-typed values that are still invalid (bad duration, port out of range, bad IP…). */
  valueErrors: KeyProblem[];
}

export type SourceFormat = "json" | "hcl";

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function decodeConfig(raw: RawConfig, schema: ObjectNode, format: SourceFormat): DecodeResult {
  const result: DecodeResult = { config: {}, typeErrors: [], unknownKeys: [], valueErrors: [] };
  const decoded = decodeNode(raw, schema, "", { format, result });
  result.config = isPlainObject(decoded) ? decoded : {};
  return result;
}

interface DecodeContext {
  format: SourceFormat;
  result: DecodeResult;
}

const GO_TYPE: Record<LeafKind, string> = {
  string: "string",
  int: "int",
  float: "float64",
  bool: "bool",
  duration: "string",
  port: "int",
  addrs: "string",
  dcName: "string",
};

function goTypeOf(schema: SchemaNode): string {
  switch (schema.kind) {
    case "list":
      return `[]${goTypeOf(schema.item)}`;
    case "map":
      return `map[string]${goTypeOf(schema.value)}`;
    case "object":
      return "struct";
    case "opaque":
      return "interface {}";
    default:
      return GO_TYPE[schema.kind];
  }
}

function goTypeOfValue(v: unknown, format: SourceFormat): string {
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return format === "hcl" && Number.isInteger(v) ? "int" : "float64";
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

function typeError(ctx: DecodeContext, path: string, schema: SchemaNode, v: unknown): undefined {
  const shown = typeof v === "object" ? JSON.stringify(v) : String(v);
  ctx.result.typeErrors.push(
    `'${path}' expected type '${goTypeOf(schema)}', got unconvertible type '${goTypeOfValue(v, ctx.format)}', value: '${shown}'`,
  );
  return undefined;
}

/**
 * HCL returns every block as an array of objects (`ports { }` → `ports: [{…}]`); where the
 * schema wants one object the blocks are folded into one, later keys winning.
 */
function foldBlocks(v: unknown): unknown {
  if (Array.isArray(v) && v.length > 0 && v.every(isPlainObject)) {
    return Object.assign({}, ...(v as Record<string, unknown>[]));
  }
  return v;
}

/** In opaque HCL values a one-element list of objects is a block, not a list (Consul's patch). */
function unwrapOpaqueBlocks(v: unknown): unknown {
  if (Array.isArray(v)) {
    if (v.length === 1 && isPlainObject(v[0])) return unwrapOpaqueBlocks(v[0]);
    return v.map(unwrapOpaqueBlocks);
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = unwrapOpaqueBlocks(x);
    return out;
  }
  return v;
}

const fieldLookupCache = new WeakMap<ObjectNode, Map<string, string>>();

function fieldLookup(schema: ObjectNode): Map<string, string> {
  let lookup = fieldLookupCache.get(schema);
  if (lookup) return lookup;
  lookup = new Map();
  for (const name of Object.keys(schema.fields)) {
    lookup.set(name.toLowerCase(), name);
    if (schema.camelAliases) lookup.set(name.replaceAll("_", "").toLowerCase(), name);
  }
  for (const [alias, target] of Object.entries(schema.aliases ?? {})) {
    lookup.set(alias.toLowerCase(), target);
    if (schema.camelAliases) lookup.set(alias.replaceAll("_", "").toLowerCase(), target);
  }
  fieldLookupCache.set(schema, lookup);
  return lookup;
}

/** Key matching is case-insensitive as in mapstructure; CamelCase only where the schema allows it. */
export function resolveField(schema: ObjectNode, key: string): string | undefined {
  const lookup = fieldLookup(schema);
  const lower = key.toLowerCase();
  return lookup.get(lower) ?? (schema.camelAliases ? lookup.get(lower.replaceAll("_", "")) : undefined);
}

const PLURAL_OF: Readonly<Record<string, string>> = { service: "services", check: "checks" };

const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);

function decodeNode(v: unknown, schema: SchemaNode, path: string, ctx: DecodeContext): unknown {
  if (v === null || v === undefined) return undefined;
  switch (schema.kind) {
    case "opaque":
      return ctx.format === "hcl" ? unwrapOpaqueBlocks(v) : v;
    case "object": {
      const value = foldBlocks(v);
      if (!isPlainObject(value)) return typeError(ctx, path, schema, v);
      const out: Record<string, unknown> = {};
      for (const [key, x] of Object.entries(value)) {
        const field = resolveField(schema, key);
        if (field === undefined) {
          ctx.result.unknownKeys.push(join(path, key));
          continue;
        }
        // HCL repeats `service { }` / `check { }` blocks: several are a list, not one object.
        const plural = PLURAL_OF[field];
        const target = plural !== undefined && schema.fields[plural] !== undefined && Array.isArray(x) && x.length > 1 ? plural : field;
        const decoded = decodeNode(x, schema.fields[target], join(path, target), ctx);
        if (decoded === undefined) continue;
        const existing = out[target];
        out[target] = Array.isArray(existing) && Array.isArray(decoded) ? [...existing, ...decoded] : decoded;
      }
      return out;
    }
    case "map": {
      const value = foldBlocks(v);
      if (!isPlainObject(value)) return typeError(ctx, path, schema, v);
      const out: Record<string, unknown> = {};
      for (const [key, x] of Object.entries(value)) {
        const decoded = decodeNode(x, schema.value, `${path}[${key}]`, ctx);
        if (decoded !== undefined) out[key] = decoded;
      }
      return out;
    }
    case "list": {
      if (!Array.isArray(v)) return typeError(ctx, path, schema, v);
      const out: unknown[] = [];
      v.forEach((x, i) => {
        const decoded = decodeNode(x, schema.item, `${path}[${i}]`, ctx);
        if (decoded !== undefined) out.push(decoded);
      });
      return out;
    }
    default:
      return decodeLeaf(v, schema.kind, path, ctx);
  }
}

function decodeLeaf(v: unknown, kind: LeafKind, path: string, ctx: DecodeContext): unknown {
  // A single HCL block or a one-element list where a scalar belongs is unwrapped, as
  // Consul's HookWeakDecodeFromSlice does.
  const value = Array.isArray(v) && v.length === 1 ? v[0] : v;
  const schema = { kind } as SchemaNode;
  switch (kind) {
    case "bool":
      return typeof value === "boolean" ? value : typeError(ctx, path, schema, v);
    case "int":
      return typeof value === "number" && Number.isInteger(value) ? value : typeError(ctx, path, schema, v);
    case "float":
      return typeof value === "number" && Number.isFinite(value) ? value : typeError(ctx, path, schema, v);
    case "port": {
      if (typeof value !== "number" || !Number.isInteger(value)) return typeError(ctx, path, schema, v);
      if (value > 65535) ctx.result.valueErrors.push({ key: path, message: `${path}: invalid port: ${value}` });
      return value;
    }
    case "string":
      return typeof value === "string" ? value : typeError(ctx, path, schema, v);
    case "duration": {
      if (typeof value !== "string") return typeError(ctx, path, schema, v);
      try {
        parseGoDuration(value);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        ctx.result.valueErrors.push({ key: path, message: `${path}: invalid duration: "${value}": ${reason}` });
      }
      return value;
    }
    case "addrs": {
      if (typeof value !== "string") return typeError(ctx, path, schema, v);
      const bad = invalidAddress(value);
      if (bad !== undefined) ctx.result.valueErrors.push({ key: path, message: `${path}: invalid ip address: ${bad}` });
      return value;
    }
    case "dcName": {
      if (typeof value !== "string") return typeError(ctx, path, schema, v);
      const lower = value.toLowerCase();
      // Only `datacenter` itself must be non-empty; primary/ACL datacenter default to it.
      const problem = lower === "" && path !== "datacenter" ? undefined : datacenterNameProblem(path, lower);
      if (problem !== undefined) ctx.result.valueErrors.push({ key: path, message: problem });
      return lower;
    }
  }
}

/** The first token that is neither an IP, a unix socket nor a go-sockaddr template. */
export function invalidAddress(value: string): string | undefined {
  if (value.includes("{{")) return undefined; // templates are expanded when the runtime config is built
  for (const token of value.split(/\s+/).filter((t) => t !== "")) {
    if (token.startsWith("unix://")) continue;
    if (token === "[::]") continue;
    if (isIP(token) === 0) return token;
  }
  return undefined;
}

const BASIC_NAME = /^[a-z0-9_-]+$/;

/** Consul's validateBasicName wording for datacenter names. */
export function datacenterNameProblem(field: string, value: string): string | undefined {
  if (value === "") return `${field} cannot be empty`;
  if (!BASIC_NAME.test(value)) {
    return `${field} can only contain lowercase alphanumeric, - or _ characters. received: ${JSON.stringify(value)}`;
  }
  return undefined;
}
