import { errors } from "../errors/catalog.ts";
import { parseDurationField } from "../model/duration.ts";
import { findJsonTooDeep, jsonTooDeepMessage, MAX_JSON_NESTING_DEPTH } from "../model/json-depth.ts";
import { runSliced } from "../runtime/sliced-work.ts";
import { parseJsonInSlices } from "./json-in-slices.ts";
import { yieldToEventLoop } from "../runtime/yield.ts";

// Request bodies are decoded like Go's encoding/json: an exact key match wins, otherwise a
// case-insensitive one (python-consul sends lower-case keys); snake_case aliases are listed
// per field. Unknown keys are ignored; `null` means absent.

export type JsonObject = Record<string, unknown>;

/**
 * The whole, one-turn parse behind parseJsonBodyInTurns (and what its tests compare against).
 * Request handlers do not call it: every JSON request body goes through parseJsonBodyInTurns,
 * the one seam that decides whether a body is parsed now or over several turns. The one
 * exception is the catalog registration hot path, which calls it only for a body
 * isLargeJsonBody calls small, to skip the promise (decodeCatalogRegistration).
 */
export function parseJsonBodyWhole(body: Buffer | undefined, options: { optional?: boolean } = {}): unknown {
  const text = checkedText(body, options);
  return text === undefined ? undefined : parseText(text);
}

/** Bodies at least this large are decoded over several turns by parseJsonBodyInTurns. */
export const LARGE_BODY_BYTES = 64 * 1024;

/** Whether parseJsonBodyInTurns would take more than this turn over the body. */
export function isLargeJsonBody(body: Buffer | undefined): body is Buffer {
  return body !== undefined && body.length >= LARGE_BODY_BYTES;
}

/**
 * Decodes a JSON request body: the one seam every endpoint taking a JSON body goes through
 * (issue 12 item 6). A body under LARGE_BODY_BYTES is parsed at once, in this turn (the usual
 * case; a few µs). A larger one (a registration with thousands of checks, a config entry or
 * ACL policy near the 512 KiB cap) gets its depth check and parse in slices of a few ms
 * (json-in-slices.ts), apart from the turn the body arrived in: whole, they are ~1 and ~4 ms
 * at the cap on an idle machine, ~10 ms under load. Text the sliced parse refuses is decoded
 * whole for the error message (which stops where the text goes wrong).
 */
export async function parseJsonBodyInTurns(body: Buffer | undefined, options: { optional?: boolean; keepForHandler?: boolean } = {}): Promise<unknown> {
  if (!isLargeJsonBody(body)) return parseJsonBodyWhole(body, options);
  if (parsedLargeBodies.has(body)) return takeParsed(body);
  await yieldToEventLoop();
  const text = body.toString("utf8");
  if (text.trim() !== "") {
    const sliced = await runSliced(parseJsonInSlices(text, { maxDepth: MAX_JSON_NESTING_DEPTH }));
    if (!sliced.failed) {
      if (options.keepForHandler === true) parsedLargeBodies.set(body, sliced.value);
      return sliced.value;
    }
  }
  return parseJsonBodyWhole(body, options);
}

/**
 * Large bodies already parsed (with keepForHandler), by the very Buffer they came in: a catalog
 * write's body is read for its Datacenter by the request router and then decoded by the
 * handler, and parsing 512 KiB twice doubled the CPU and the garbage. The handler's read takes
 * the value out: the request's
 * Buffer lives until it is answered (after the Raft round trip), and the parsed tree held that
 * long would survive into the old generation instead of dying young. Readers only read the
 * value (decoders copy what they keep).
 */
const parsedLargeBodies = new WeakMap<Buffer, unknown>();

function takeParsed(body: Buffer): unknown {
  const value = parsedLargeBodies.get(body);
  parsedLargeBodies.delete(body);
  return value;
}

/** The body as text, refused when empty (unless optional: undefined) or nested too deep. */
function checkedText(body: Buffer | undefined, options: { optional?: boolean }): string | undefined {
  const text = body && body.length > 0 ? body.toString("utf8") : "";
  if (text.trim() === "") {
    if (options.optional) return undefined;
    throw errors.decodeFailed("EOF");
  }
  refuseTooDeep(text);
  return text;
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw errors.decodeFailed(e instanceof Error ? e.message : String(e));
  }
}

/** Every decoded body passes here first: nothing nested past MAX_JSON_NESTING_DEPTH is decoded (400). */
function refuseTooDeep(text: string): void {
  const found = findJsonTooDeep(text);
  if (found) throw errors.decodeFailed(jsonTooDeepMessage(found));
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Field lookup with Go's matching rules; `names[0]` is the canonical PascalCase name. */
export function field(obj: JsonObject, ...names: string[]): unknown {
  for (const n of names) if (n in obj && obj[n] !== null) return obj[n];
  // The case-insensitive pass allocates nothing for keys that cannot match (large bodies call
  // this for every absent field of every check).
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue;
    let lowered: string | undefined;
    for (const n of names) {
      if (n.length !== k.length) continue;
      lowered ??= k.toLowerCase();
      if (lowered === n.toLowerCase() && obj[k] !== null) return obj[k];
    }
  }
  return undefined;
}

function typeError(name: string, want: string, got: unknown): Error {
  const kind = got === null ? "null" : Array.isArray(got) ? "array" : typeof got;
  return errors.decodeFailed(`json: cannot unmarshal ${kind} into Go struct field .${name} of type ${want}`);
}

export function str(obj: JsonObject, ...names: string[]): string {
  const v = field(obj, ...names);
  if (v === undefined) return "";
  if (typeof v !== "string") throw typeError(names[0], "string", v);
  return v;
}

export function optStr(obj: JsonObject, ...names: string[]): string | undefined {
  const v = field(obj, ...names);
  return v === undefined ? undefined : str(obj, ...names);
}

export function int(obj: JsonObject, ...names: string[]): number {
  const v = field(obj, ...names);
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw typeError(names[0], "int", v);
  return v;
}

export function bool(obj: JsonObject, ...names: string[]): boolean {
  const v = field(obj, ...names);
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw typeError(names[0], "bool", v);
  return v;
}

export function strList(obj: JsonObject, ...names: string[]): string[] | undefined {
  const v = field(obj, ...names);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw typeError(names[0], "[]string", v);
  return v as string[];
}

export function strMap(obj: JsonObject, ...names: string[]): Record<string, string> | undefined {
  const v = field(obj, ...names);
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) throw typeError(names[0], "map[string]string", v);
  return v as Record<string, string>;
}

export function obj(o: JsonObject, ...names: string[]): JsonObject | undefined {
  const v = field(o, ...names);
  if (v === undefined) return undefined;
  if (!isObject(v)) throw typeError(names[0], "struct", v);
  return v;
}

export function list(o: JsonObject, ...names: string[]): unknown[] | undefined {
  const v = field(o, ...names);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw typeError(names[0], "slice", v);
  return v;
}

/** A Go duration string or a number of nanoseconds, in milliseconds. */
export function durationMs(o: JsonObject, ...names: string[]): number {
  const v = field(o, ...names);
  if (v === undefined) return 0;
  try {
    return parseDurationField(v);
  } catch (e) {
    throw errors.decodeFailed(e instanceof Error ? e.message : String(e));
  }
}
