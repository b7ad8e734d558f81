// Without a schema the item's own shape decides: objects are walked by key (a missing key is
// "absent", as a missing map key is in go-bexpr), arrays met mid-selector are an implicit ANY,
// and the literal is coerced to the type of the value found at run time.

import type { MatchExpression } from "./ast.ts";
import { compileRe2 } from "./regex.ts";
import { parseGoBool, parseGoFloat, parseGoInt } from "./strconv.ts";
import { absentResult, floatEquals, hasKey, integerEquals, isRecord, splitOperator } from "./values.ts";
import type { ValueTest } from "./values.ts";

function looseEqualsTest(raw: string): ValueTest {
  const asBool = parseGoBool(raw);
  const asInt = parseGoInt(raw);
  const asFloat = parseGoFloat(raw);
  return (v) => {
    if (typeof v === "string") return v === raw;
    if (typeof v === "boolean") return asBool.ok && asBool.value === v;
    if (typeof v === "bigint") return asInt.ok && asInt.value === v;
    if (typeof v === "number") {
      if (Number.isInteger(v) && asInt.ok) return integerEquals(v, asInt.value);
      return asFloat.ok && floatEquals(v, asFloat.value);
    }
    return false;
  };
}

function dynamicLeafTest(expr: MatchExpression): ValueTest {
  const { positive } = splitOperator(expr.operator);
  const raw = expr.value ?? "";
  switch (positive) {
    case "equal":
      return looseEqualsTest(raw);
    case "matches": {
      const regexp = compileRe2(raw);
      return (v) => typeof v === "string" && regexp.test(v);
    }
    case "in": {
      const equals = looseEqualsTest(raw);
      return (v) => {
        if (typeof v === "string") return v.includes(raw);
        if (Array.isArray(v)) return v.some(equals);
        return isRecord(v) && hasKey(v, raw);
      };
    }
    case "isEmpty":
      return (v) => {
        if (typeof v === "string" || Array.isArray(v)) return v.length === 0;
        return isRecord(v) && Object.keys(v).length === 0;
      };
  }
}

export function compileDynamicMatch(expr: MatchExpression): ValueTest {
  const { positive, negated } = splitOperator(expr.operator);
  const absent = absentResult(positive, negated);
  const positiveTest = dynamicLeafTest(expr);
  const leaf: ValueTest = (v) => {
    if (v === null || v === undefined) return absent;
    return positiveTest(v) !== negated;
  };
  const path = expr.selector;

  const walk = (value: unknown, depth: number): boolean => {
    if (depth === path.length) return leaf(value);
    if (Array.isArray(value)) return value.some((element) => walk(element, depth));
    if (isRecord(value) && hasKey(value, path[depth])) return walk(value[path[depth]], depth + 1);
    return absent;
  };
  return (item) => walk(item, 0);
}
