// Shared helpers for reading item values the way go-bexpr reads Go values: JSON null or a
// missing struct field is the zero value, and numbers may arrive as number or bigint.

import { MatchOperators } from "./ast.ts";
import type { MatchOperator } from "./ast.ts";

export type ValueTest = (value: unknown) => boolean;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function hasKey(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key);
}

export function asString(value: unknown): string {
  if (typeof value === "string") return value;
  return value === null || value === undefined ? "" : String(value);
}

export function asList(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** Integer equality across number / bigint representations; null counts as 0. */
export function integerEquals(value: unknown, want: bigint): boolean {
  if (typeof value === "bigint") return value === want;
  if (typeof value === "number") return Number.isInteger(value) && BigInt(value) === want;
  if (value === null || value === undefined) return want === 0n;
  return false;
}

export function floatEquals(value: unknown, want: number): boolean {
  if (typeof value === "number") return value === want;
  if (typeof value === "bigint") return Number(value) === want;
  if (value === null || value === undefined) return want === 0;
  return false;
}

/**
 * Each operator is evaluated as its positive form; the `not`/`!=` forms negate at the leaf
 * (never around an implicit ANY, where `Checks.Status != x` means "some check differs").
 */
export type PositiveOperator = "equal" | "in" | "isEmpty" | "matches";

export function splitOperator(operator: MatchOperator): { positive: PositiveOperator; negated: boolean } {
  switch (operator) {
    case MatchOperators.equal: return { positive: "equal", negated: false };
    case MatchOperators.notEqual: return { positive: "equal", negated: true };
    case MatchOperators.in: return { positive: "in", negated: false };
    case MatchOperators.notIn: return { positive: "in", negated: true };
    case MatchOperators.isEmpty: return { positive: "isEmpty", negated: false };
    case MatchOperators.isNotEmpty: return { positive: "isEmpty", negated: true };
    case MatchOperators.matches: return { positive: "matches", negated: false };
    case MatchOperators.notMatches: return { positive: "matches", negated: true };
  }
}

/**
 * A map key (or, without a schema, any field) that does not exist: nothing equals it, contains
 * it or matches it, and it is empty — go-bexpr's rule for missing map keys.
 */
export function absentResult(positive: PositiveOperator, negated: boolean): boolean {
  return (positive === "isEmpty") !== negated;
}

export function negateIf(test: ValueTest, negated: boolean): ValueTest {
  return negated ? (value) => !test(value) : test;
}
