import { formatGoDuration, parseGoDuration } from "../model/duration.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// The shape of a config entry kind's fields, used to decode a body the way Consul's
// DecodeConfigEntry does: keys match case-insensitively and in snake_case, unknown keys are
// refused with `invalid config key "…"`, durations are Go durations, and the stored form uses
// Consul's JSON spelling with empty values left out (its `omitempty`).

export class ConfigEntryError extends Error {}

export type Shape =
  | "string"
  | "bool"
  | "int"
  | "number"
  | "duration"
  | "any"
  | { readonly obj: Readonly<Record<string, Shape>> }
  | { readonly list: Shape }
  | { readonly map: Shape };

export type Raw = Record<string, unknown>;

export function isObj(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function canon(k: string): string {
  return k.replaceAll("_", "").replaceAll("-", "").toLowerCase();
}

export const obj = (fields: Record<string, Shape>): Shape => ({ obj: fields });
export const list = (of: Shape): Shape => ({ list: of });
export const map = (of: Shape): Shape => ({ map: of });
export const strList = list("string");
export const strMap = map("string");

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) return Object.keys(v).length === 0;
  return false;
}

/** HCL turns a one-element list of blocks into an object; a list field takes it back as one element. */
function asList(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (isObj(v)) return [v];
  return undefined;
}

/**
 * Decodes `value` against `shape`; `where` names the field for messages. Empty values are
 * dropped (returns undefined), as Consul's JSON leaves them out.
 */
export function decodeShape(value: unknown, shape: Shape, where: string): unknown {
  return runWhole(decodeShapeSteps(value, shape, where));
}

/**
 * decodeShape as work that pauses after each element of a list or member of a map (issue 12
 * item 6): a config entry near the body cap holds ~12,000 of them, a walk of tens of ms in one
 * turn. The request handler runs it in slices; decodeShape runs the same steps whole.
 */
export function* decodeShapeSteps(value: unknown, shape: Shape, where: string): SlicedWork<unknown> {
  if (value === undefined || value === null) return undefined;
  if (shape === "any") return value;
  if (shape === "string") {
    if (typeof value !== "string") throw new ConfigEntryError(`${where}: expected a string, got ${JSON.stringify(value)}`);
    return value === "" ? undefined : value;
  }
  if (shape === "bool") {
    if (typeof value === "string" && (value === "true" || value === "false")) return value === "true" ? true : undefined;
    if (typeof value !== "boolean") throw new ConfigEntryError(`${where}: expected a bool, got ${JSON.stringify(value)}`);
    return value ? true : undefined;
  }
  if (shape === "int" || shape === "number") {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n) || (shape === "int" && !Number.isInteger(n))) {
      throw new ConfigEntryError(`${where}: expected ${shape === "int" ? "an integer" : "a number"}, got ${JSON.stringify(value)}`);
    }
    return n === 0 ? undefined : n;
  }
  if (shape === "duration") {
    let ms: number;
    try {
      ms = typeof value === "number" ? value / 1e6 : typeof value === "string" ? parseGoDuration(value) : NaN;
    } catch (err) {
      throw new ConfigEntryError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (Number.isNaN(ms)) throw new ConfigEntryError(`${where}: expected a duration, got ${JSON.stringify(value)}`);
    return ms === 0 ? undefined : formatGoDuration(ms);
  }
  if ("list" in shape) {
    const items = asList(value);
    if (!items) throw new ConfigEntryError(`${where}: expected a list, got ${JSON.stringify(value)}`);
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) {
      out.push((yield* decodeShapeSteps(items[i], shape.list, `${where}[${i}]`)) ?? emptyOf(shape.list));
      yield;
    }
    return out.length === 0 ? undefined : out;
  }
  if ("map" in shape) {
    // An HCL block (`Config { … }`) arrives as a one-element list.
    if (Array.isArray(value) && value.length === 1 && isObj(value[0])) value = value[0];
    if (!isObj(value)) throw new ConfigEntryError(`${where}: expected a map, got ${JSON.stringify(value)}`);
    const out: Raw = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = (yield* decodeShapeSteps(v, shape.map, `${where}[${JSON.stringify(k)}]`)) ?? emptyOf(shape.map);
      yield;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  let source = value;
  // A block written twice in HCL arrives as a one-element list.
  if (Array.isArray(source) && source.length === 1 && isObj(source[0])) source = source[0];
  if (!isObj(source)) throw new ConfigEntryError(`${where}: expected an object, got ${JSON.stringify(value)}`);
  const out = yield* decodeFieldsSteps(source, shape.obj, where === "" ? "" : `${where}.`);
  return Object.keys(out).length === 0 ? undefined : out;
}

function emptyOf(shape: Shape): unknown {
  if (shape === "string") return "";
  if (shape === "bool") return false;
  if (shape === "int" || shape === "number") return 0;
  if (shape === "duration") return "0s";
  if (shape === "any") return null;
  if ("list" in shape) return [];
  return {};
}

/** Decodes an object's fields, refusing unknown keys by name. `prefix` ends in "." (or is empty). */
export function decodeFields(raw: Raw, fields: Readonly<Record<string, Shape>>, prefix: string): Raw {
  return runWhole(decodeFieldsSteps(raw, fields, prefix));
}

/** decodeFields as work that pauses inside its large lists and maps (decodeShapeSteps). */
export function* decodeFieldsSteps(raw: Raw, fields: Readonly<Record<string, Shape>>, prefix: string): SlicedWork<Raw> {
  const out: Raw = {};
  for (const [k, v] of Object.entries(raw)) {
    const name = canonicalField(fields, k);
    if (name === undefined) throw new ConfigEntryError(`${prefix}invalid config key "${k}"`);
    const decoded = yield* decodeShapeSteps(v, fields[name], `${prefix}${name}`);
    if (!isEmpty(decoded) || (decoded !== undefined && fields[name] === "any")) out[name] = decoded;
  }
  // Consul's JSON lists fields in struct order, whatever order the body used.
  const ordered: Raw = {};
  for (const k of Object.keys(fields)) if (Object.hasOwn(out, k)) ordered[k] = out[k];
  return ordered;
}

/**
 * Each shape's field names by canon(): built once per shape, not once per decoded object (a
 * list of 12,000 objects built the map and canon()ed every field name 12,000 times, most of a
 * large entry's decode).
 */
const canonicalNames = new WeakMap<object, Map<string, string>>();

/** The field of `fields` that `key` names (exactly, in any case, or in snake_case), if any. */
function canonicalField(fields: Readonly<Record<string, Shape>>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  let names = canonicalNames.get(fields);
  if (names === undefined) {
    names = new Map(Object.keys(fields).map((k) => [canon(k), k]));
    canonicalNames.set(fields, names);
  }
  return names.get(canon(key));
}

// Small typed readers over a decoded object.
export const s = (o: unknown, k: string): string => (isObj(o) && typeof o[k] === "string" ? o[k] : "");
export const n = (o: unknown, k: string): number => (isObj(o) && typeof o[k] === "number" ? o[k] : 0);
export const b = (o: unknown, k: string): boolean => isObj(o) && o[k] === true;
export const arr = (o: unknown, k: string): Raw[] => (isObj(o) && Array.isArray(o[k]) ? (o[k] as Raw[]) : []);
export const strs = (o: unknown, k: string): string[] => (isObj(o) && Array.isArray(o[k]) ? (o[k] as string[]) : []);
export const sub = (o: unknown, k: string): Raw | undefined => (isObj(o) && isObj(o[k]) ? o[k] : undefined);
export const durMs = (o: unknown, k: string): number => (s(o, k) === "" ? 0 : parseGoDuration(s(o, k)));
