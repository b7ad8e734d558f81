// Consul's merge rules, driven by the schema: scalars — the later source wins; lists —
// appended (services, checks, retry_join…); objects and maps — merged key by key.

import { isPlainObject, type RawConfig } from "./decode.ts";
import type { ObjectNode, SchemaNode } from "./schema.ts";

export function mergeConfigs(base: RawConfig, overlay: RawConfig, schema: ObjectNode): RawConfig {
  return mergeNode(base, overlay, schema) as RawConfig;
}

function mergeNode(a: unknown, b: unknown, schema: SchemaNode): unknown {
  if (b === undefined) return a;
  if (a === undefined) return b;
  switch (schema.kind) {
    case "list":
      return Array.isArray(a) && Array.isArray(b) ? [...a, ...b] : b;
    case "object": {
      if (!isPlainObject(a) || !isPlainObject(b)) return b;
      const out: Record<string, unknown> = { ...a };
      for (const [key, value] of Object.entries(b)) {
        const field = schema.fields[key];
        out[key] = field === undefined ? value : mergeNode(out[key], value, field);
      }
      return out;
    }
    case "map":
    case "opaque":
      // Map entries are replaced whole: a later `meta = { a = "x" }` replaces key `a` only.
      return isPlainObject(a) && isPlainObject(b) ? { ...a, ...b } : b;
    default:
      return b;
  }
}
