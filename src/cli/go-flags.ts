// A parser with the semantics of Go's `flag` package, because consul's commands are Go
// FlagSets: one or two dashes, `-f=v` or `-f v`, booleans take a value only with `=`,
// parsing stops at the first positional argument or `--`. Commander cannot read
// single-dash long flags, so the CLI uses this table-driven parser instead.
import { parseGoDuration } from "../model/duration.ts";

export type FlagSpec =
  | { readonly kind: "bool"; readonly default: boolean; readonly help: string }
  | { readonly kind: "string"; readonly default: string; readonly help: string; readonly example?: string }
  | { readonly kind: "int"; readonly default: number; readonly help: string }
  | { readonly kind: "uint"; readonly default: number; readonly help: string }
  | { readonly kind: "uint64"; readonly default: bigint; readonly help: string }
  | { readonly kind: "duration"; readonly default: number; readonly help: string }
  | { readonly kind: "repeatable"; readonly help: string; readonly example?: string }
  | { readonly kind: "map"; readonly help: string; readonly example?: string };

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/**
 * The parsed value type of one flag: durations are milliseconds, maps are `k=v` pairs, uint64
 * is a bigint because values such as the lock flag (0x2ddccbc058a50c18) exceed 2^53.
 */
export type FlagValue<S extends FlagSpec> = S extends { kind: "bool" }
  ? boolean
  : S extends { kind: "string" }
    ? string
    : S extends { kind: "int" | "uint" | "duration" }
      ? number
      : S extends { kind: "uint64" }
        ? bigint
      : S extends { kind: "repeatable" }
        ? string[]
        : S extends { kind: "map" }
          ? Record<string, string>
          : never;

export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]: FlagValue<T[K]> };

export type FlagParseResult<T extends FlagTable> =
  | { readonly ok: true; readonly values: FlagValues<T>; readonly explicit: ReadonlySet<string>; readonly args: string[] }
  | { readonly ok: false; readonly help: true }
  | { readonly ok: false; readonly help: false; readonly error: string };

export function boolFlag(help: string, defaultValue = false) {
  return { kind: "bool", default: defaultValue, help } as const;
}
export function stringFlag(help: string, defaultValue = "", example?: string) {
  return { kind: "string", default: defaultValue, help, example } as const;
}
export function intFlag(help: string, defaultValue = 0) {
  return { kind: "int", default: defaultValue, help } as const;
}
export function uintFlag(help: string, defaultValue = 0) {
  return { kind: "uint", default: defaultValue, help } as const;
}
export function uint64Flag(help: string, defaultValue = 0n) {
  return { kind: "uint64", default: defaultValue, help } as const;
}
export function durationFlag(help: string, defaultValueMs = 0) {
  return { kind: "duration", default: defaultValueMs, help } as const;
}
export function repeatableFlag(help: string, example?: string) {
  return { kind: "repeatable", help, example } as const;
}
export function mapFlag(help: string, example?: string) {
  return { kind: "map", help, example } as const;
}

/** strconv.ParseBool */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(text)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(text)) return false;
  return undefined;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * The syntax strconv.ParseInt/ParseUint accept with base 0 (decimal, 0x, 0o, 0b, leading-0
 * octal, `_` only between digits or after a base prefix), as an exact value. ParseUint takes
 * no sign at all, not even `+`.
 */
function parseGoIntegerLiteral(text: string, unsigned: boolean): bigint | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (!match) return undefined;
  const [, sign, body] = match;
  if (unsigned && sign !== "") return undefined;
  if (!/^(0[xXoObB]_?)?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/.test(body)) return undefined;
  const digits = body.replace(/_/g, "").toLowerCase();
  const magnitude = digits.length > 1 && /^0[0-7]/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return sign === "-" ? -magnitude : magnitude;
}

/** int/uint flags as JS numbers: only values that stay exact (|v| ≤ 2^53-1) are accepted. */
function parseGoInteger(text: string, unsigned: boolean): number | undefined {
  const value = parseGoIntegerLiteral(text, unsigned);
  if (value === undefined) return undefined;
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : undefined;
}

function initialValues<T extends FlagTable>(table: T): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    if (spec.kind === "repeatable") values[name] = [];
    else if (spec.kind === "map") values[name] = {};
    else values[name] = spec.default;
  }
  return values;
}

/** FlagSet's failure line for a value Set rejected; `reason` is flag's errParse/errRange or Set's own error. */
function invalidValue(name: string, text: string, reason = "parse error"): string {
  return `invalid value "${text}" for flag -${name}: ${reason}`;
}

/** Applies one textual value to a flag; returns an error text in Go's words on failure. */
function setValue(spec: FlagSpec, name: string, text: string, values: Record<string, unknown>): string | undefined {
  switch (spec.kind) {
    case "bool": {
      const parsed = parseGoBool(text);
      if (parsed === undefined) return `invalid boolean value "${text}" for -${name}: parse error`;
      values[name] = parsed;
      return undefined;
    }
    case "string":
      values[name] = text;
      return undefined;
    case "int":
    case "uint": {
      const parsed = parseGoInteger(text, spec.kind === "uint");
      if (parsed === undefined) return invalidValue(name, text);
      values[name] = parsed;
      return undefined;
    }
    case "uint64": {
      const parsed = parseGoIntegerLiteral(text, true);
      if (parsed === undefined) return invalidValue(name, text);
      // Go's flag package reports strconv.ErrRange with its own wording.
      if (parsed > MAX_UINT64) return invalidValue(name, text, "value out of range");
      values[name] = parsed;
      return undefined;
    }
    case "duration": {
      try {
        values[name] = parseGoDuration(text);
        return undefined;
      } catch {
        return invalidValue(name, text);
      }
    }
    case "repeatable":
      (values[name] as string[]).push(text);
      return undefined;
    case "map": {
      const eq = text.indexOf("=");
      if (eq === -1) return invalidValue(name, text, `missing "=" value in argument: ${text}`);
      (values[name] as Record<string, string>)[text.slice(0, eq)] = text.slice(eq + 1);
      return undefined;
    }
  }
}

/** Parses `argv` against `table` exactly as Go's FlagSet.Parse does. */
export function parseGoFlags<T extends FlagTable>(table: T, argv: readonly string[]): FlagParseResult<T> {
  const values = initialValues(table);
  const explicit = new Set<string>();
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index];
    if (arg.length < 2 || arg[0] !== "-") break;
    let dashes = 1;
    if (arg[1] === "-") {
      dashes = 2;
      if (arg.length === 2) {
        index++;
        break;
      }
    }
    const body = arg.slice(dashes);
    if (body.length === 0 || body[0] === "-" || body[0] === "=") {
      return { ok: false, help: false, error: `bad flag syntax: ${arg}` };
    }
    index++;
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inlineValue = eq === -1 ? undefined : body.slice(eq + 1);
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (spec === undefined) {
      if (name === "help" || name === "h") return { ok: false, help: true };
      return { ok: false, help: false, error: `flag provided but not defined: -${name}` };
    }
    let text: string;
    if (spec.kind === "bool") {
      text = inlineValue ?? "true";
    } else if (inlineValue !== undefined) {
      text = inlineValue;
    } else {
      if (index >= argv.length) return { ok: false, help: false, error: `flag needs an argument: -${name}` };
      text = argv[index];
      index++;
    }
    const error = setValue(spec, name, text, values);
    if (error !== undefined) return { ok: false, help: false, error };
    explicit.add(name);
  }
  return { ok: true, values: values as FlagValues<T>, explicit, args: argv.slice(index) };
}
