// Compiles one match expression against a FilterSchema, mirroring go-bexpr's validate step
// (selector exists, operator allowed for the field's type, value coerces, regexp compiles)
// and then its evaluator (struct fields, map keys, implicit ANY over lists of structs).

import { selectorText } from "./ast.ts";
import type { MatchExpression, MatchOperator } from "./ast.ts";
import { FilterError } from "./filter-error.ts";
import { compileRe2 } from "./regex.ts";
import { isScalar } from "./schema.ts";
import type { FieldSchema, FilterSchema, ScalarSchema } from "./schema.ts";
import { parseGoBool, parseGoFloat, parseGoInt, parseGoUint } from "./strconv.ts";
import {
  absentResult, asList, asRecord, asString, floatEquals, hasKey, integerEquals, isRecord, negateIf, splitOperator,
} from "./values.ts";
import type { PositiveOperator, ValueTest } from "./values.ts";

type Step =
  | { readonly kind: "field"; readonly name: string }
  | { readonly kind: "key"; readonly name: string }
  | { readonly kind: "any" };

const STRING_OPERATORS: readonly MatchOperator[] = ["Equal", "Not Equal", "In", "Not In", "Matches", "Not Matches"];
const SCALAR_OPERATORS: readonly MatchOperator[] = ["Equal", "Not Equal"];
const SCALAR_LIST_OPERATORS: readonly MatchOperator[] = ["In", "Not In", "Is Empty", "Is Not Empty"];
const LIST_OPERATORS: readonly MatchOperator[] = ["Is Empty", "Is Not Empty"];
const MAP_OPERATORS: readonly MatchOperator[] = ["Is Empty", "Is Not Empty", "In", "Not In"];

function supportedOperators(schema: FieldSchema): readonly MatchOperator[] {
  switch (schema.kind) {
    case "string": return STRING_OPERATORS;
    case "bool": case "int": case "uint": case "float": return SCALAR_OPERATORS;
    case "list": return isScalar(schema.element) ? SCALAR_LIST_OPERATORS : LIST_OPERATORS;
    case "map": return MAP_OPERATORS;
    case "struct": return [];
  }
}

/** Walks the selector through the schema; lists are crossed without consuming a segment. */
function resolveSelector(selector: readonly string[], schema: FilterSchema): { steps: Step[]; leaf: FieldSchema } {
  const steps: Step[] = [];
  let current: FieldSchema = schema;
  selector.forEach((segment, index) => {
    while (current.kind === "list") {
      steps.push({ kind: "any" });
      current = current.element;
    }
    if (current.kind === "struct" && hasKey(current.fields, segment)) {
      steps.push({ kind: "field", name: segment });
      current = current.fields[segment];
    } else if (current.kind === "map" && current.value !== undefined) {
      steps.push({ kind: "key", name: segment });
      current = current.value;
    } else {
      throw new FilterError(`Selector ${JSON.stringify(selectorText(selector.slice(0, index + 1)))} is not valid`);
    }
  });
  return { steps, leaf: current };
}

type Coerced = { readonly kind: "string"; readonly value: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "integer"; readonly value: bigint }
  | { readonly kind: "float"; readonly value: number };

function coerce(raw: string, schema: ScalarSchema, selector: string): Coerced {
  const parsed = (() => {
    switch (schema.kind) {
      case "string": return { ok: true as const, coerced: { kind: "string", value: raw } as Coerced };
      case "bool": { const r = parseGoBool(raw); return r.ok ? { ok: true as const, coerced: { kind: "bool", value: r.value } as Coerced } : r; }
      case "int": { const r = parseGoInt(raw); return r.ok ? { ok: true as const, coerced: { kind: "integer", value: r.value } as Coerced } : r; }
      case "uint": { const r = parseGoUint(raw); return r.ok ? { ok: true as const, coerced: { kind: "integer", value: r.value } as Coerced } : r; }
      case "float": { const r = parseGoFloat(raw); return r.ok ? { ok: true as const, coerced: { kind: "float", value: r.value } as Coerced } : r; }
    }
  })();
  if (!parsed.ok) {
    throw new FilterError(`Failed to coerce value ${JSON.stringify(raw)} for selector ${JSON.stringify(selector)}: ${parsed.error}`);
  }
  return parsed.coerced;
}

function equalsTest(want: Coerced): ValueTest {
  switch (want.kind) {
    case "string": { const s = want.value; return (v) => asString(v) === s; }
    case "bool": { const b = want.value; return (v) => (v === true) === b; }
    case "integer": { const n = want.value; return (v) => integerEquals(v, n); }
    case "float": { const f = want.value; return (v) => floatEquals(v, f); }
  }
}

/**
 * The positive-form test on the value at the end of the selector. Called only after the
 * operator was checked against supportedOperators, so each branch knows the leaf's kind.
 */
function leafTest(expr: MatchExpression, leaf: FieldSchema, positive: PositiveOperator): ValueTest {
  const selector = selectorText(expr.selector);
  const raw = expr.value ?? "";
  if (positive === "isEmpty") {
    return leaf.kind === "map" ? (v) => Object.keys(asRecord(v)).length === 0 : (v) => asList(v).length === 0;
  }
  if (positive === "matches") {
    const regexp = compileRe2(raw);
    return (v) => regexp.test(asString(v));
  }
  if (leaf.kind === "string" && positive === "in") return (v) => asString(v).includes(raw);
  if (leaf.kind === "map") return (v) => isRecord(v) && hasKey(v, raw);
  if (leaf.kind === "list" && isScalar(leaf.element)) {
    const matchesElement = equalsTest(coerce(raw, leaf.element, selector));
    return (v) => asList(v).some(matchesElement);
  }
  if (isScalar(leaf)) return equalsTest(coerce(raw, leaf, selector));
  throw new Error(`unreachable: ${positive} on ${leaf.kind} passed operator validation`);
}

export function compileTypedMatch(expr: MatchExpression, schema: FilterSchema): ValueTest {
  const { steps, leaf } = resolveSelector(expr.selector, schema);
  if (!supportedOperators(leaf).includes(expr.operator)) {
    throw new FilterError(
      `Invalid match operator ${JSON.stringify(expr.operator)} for selector ${JSON.stringify(selectorText(expr.selector))}`,
    );
  }
  const { positive, negated } = splitOperator(expr.operator);
  let test = negateIf(leafTest(expr, leaf, positive), negated);
  const absent = absentResult(positive, negated);

  // Build the accessor chain from the leaf outwards so evaluation is a few closure calls.
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    const next = test;
    switch (step.kind) {
      case "field": {
        const name = step.name;
        test = (v) => next(isRecord(v) ? v[name] : undefined);
        break;
      }
      case "key": {
        const name = step.name;
        test = (v) => (isRecord(v) && hasKey(v, name) ? next(v[name]) : absent);
        break;
      }
      case "any":
        test = (v) => asList(v).some(next);
        break;
    }
  }
  return test;
}
