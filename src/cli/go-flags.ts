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
  | { readonly kind: "duration"; readonly default: number; readonly help: string }
  | { readonly kind: "repeatable"; readonly help: string; readonly example?: string }
  | { readonly kind: "map"; readonly help: string; readonly example?: string };

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** The parsed value type of one flag: durations are milliseconds, maps are `k=v` pairs. */
export type FlagValue<S extends FlagSpec> = S extends { kind: "bool" }
  ? boolean
  : S extends { kind: "string" }
    ? string
    : S extends { kind: "int" | "uint" | "duration" }
      ? number
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

/** strconv.ParseInt/ParseUint with base 0 (decimal, 0x, 0o, 0b, leading-0 octal, `_`). */
function parseGoInteger(text: string, unsigned: boolean): number | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (!match) return undefined;
  const [, sign, body] = match;
  if (unsigned && sign !== "") return undefined;
  const digits = body.replace(/_/g, "");
  let value: number;
  if (/^0[xXoObB]/.test(digits)) value = Number(digits.toLowerCase());
  else if (digits.length > 1 && digits.startsWith("0")) value = parseInt(digits.slice(1), 8);
  else value = Number(digits);
  if (!Number.isSafeInteger(value)) return undefined;
  return sign === "-" ? -value : value;
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
      if (parsed === undefined) return `invalid value "${text}" for flag -${name}: parse error`;
      values[name] = parsed;
      return undefined;
    }
    case "duration": {
      try {
        values[name] = parseGoDuration(text);
        return undefined;
      } catch {
        return `invalid value "${text}" for flag -${name}: parse error`;
      }
    }
    case "repeatable":
      (values[name] as string[]).push(text);
      return undefined;
    case "map": {
      const eq = text.indexOf("=");
      if (eq === -1) return `invalid value "${text}" for flag -${name}: missing "=" value in argument: ${text}`;
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
