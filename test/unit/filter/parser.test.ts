import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_FILTER_NESTING, parseFilterExpression } from "../../../src/filter/parser.ts";
import { FilterError } from "../../../src/filter/filter-error.ts";
import type { Expression } from "../../../src/filter/ast.ts";

/** Compact rendering of the AST so precedence is visible at a glance. */
function show(expr: Expression): string {
  switch (expr.type) {
    case "and": case "or": return `(${show(expr.left)} ${expr.type} ${show(expr.right)})`;
    case "not": return `not ${show(expr.operand)}`;
    case "match": {
      const value = expr.value === undefined ? "" : ` ${JSON.stringify(expr.value)}`;
      return `[${expr.selector.join("|")} ${expr.operator}${value}]`;
    }
  }
}

const parse = (text: string): string => show(parseFilterExpression(text));

function parseError(text: string): string {
  try {
    parseFilterExpression(text);
  } catch (error) {
    assert.ok(error instanceof FilterError, `expected FilterError for ${text}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

void test("filter grammar - every match operator form", () => {
  assert.equal(parse('A == "x"'), '[A Equal "x"]');
  assert.equal(parse('A != "x"'), '[A Not Equal "x"]');
  assert.equal(parse("A is empty"), "[A Is Empty]");
  assert.equal(parse("A is not empty"), "[A Is Not Empty]");
  assert.equal(parse('"x" in A'), '[A In "x"]');
  assert.equal(parse('"x" not in A'), '[A Not In "x"]');
  assert.equal(parse('A contains "x"'), '[A In "x"]');
  assert.equal(parse('A not contains "x"'), '[A Not In "x"]');
  assert.equal(parse('A matches "^x"'), '[A Matches "^x"]');
  assert.equal(parse('A not matches "^x"'), '[A Not Matches "^x"]');
});

void test("filter grammar - and binds tighter than or, left to right", () => {
  assert.equal(parse("A == 1 or B == 2 and C == 3"), '([A Equal "1"] or ([B Equal "2"] and [C Equal "3"]))');
  assert.equal(parse("A == 1 and B == 2 or C == 3"), '(([A Equal "1"] and [B Equal "2"]) or [C Equal "3"])');
  assert.equal(parse("A == 1 or B == 2 or C == 3"), '(([A Equal "1"] or [B Equal "2"]) or [C Equal "3"])');
});

void test("filter grammar - not binds tighter than and; parentheses regroup", () => {
  assert.equal(parse("not A == 1 and B == 2"), '(not [A Equal "1"] and [B Equal "2"])');
  assert.equal(parse("not (A == 1 and B == 2)"), 'not ([A Equal "1"] and [B Equal "2"])');
  assert.equal(parse("(A == 1 or B == 2) and C == 3"), '(([A Equal "1"] or [B Equal "2"]) and [C Equal "3"])');
  assert.equal(parse("((A == 1))"), '[A Equal "1"]');
  assert.equal(parse("not not A == 1"), '[A Equal "1"]');
  assert.equal(parse("not not not A == 1"), 'not [A Equal "1"]');
});

void test("filter grammar - whitespace optional around == and !=, required around words", () => {
  assert.equal(parse('A=="x"'), '[A Equal "x"]');
  assert.equal(parse("A!=1"), '[A Not Equal "1"]');
  assert.equal(parse('  \t\nA == "x"\r\n '), '[A Equal "x"]');
  assert.equal(parse("( A == 1 )"), '[A Equal "1"]');
  assert.equal(parse("(A == 1) and (B == 2)"), '([A Equal "1"] and [B Equal "2"])');
  assert.match(parseError("not(A == 1)"), /no match found/);
  assert.match(parseError("(A == 1)and(B == 2)"), /no match found/);
  assert.match(parseError('"x" inA'), /no match found/);
  assert.match(parseError("A isempty"), /no match found/);
});

void test("filter grammar - selectors: dotted, index syntax, numeric segments", () => {
  assert.equal(parse('Meta["my-key"] == x'), '[Meta|my-key Equal "x"]');
  assert.equal(parse("Meta[ `a.b` ].c == x"), '[Meta|a.b|c Equal "x"]');
  assert.equal(parse("Service.Meta.env == prod"), '[Service|Meta|env Equal "prod"]');
  assert.equal(parse("A.0.B == 1"), '[A|0|B Equal "1"]');
  assert.equal(parse("a_b/c9 == 1"), '[a_b/c9 Equal "1"]');
});

void test("filter grammar - keywords are only keywords in operator position", () => {
  assert.equal(parse("notify == 1"), '[notify Equal "1"]');
  assert.equal(parse("not == 1"), '[not Equal "1"]');
  assert.equal(parse("orange == 1 or android == 2"), '([orange Equal "1"] or [android Equal "2"])');
  assert.equal(parse("in in Tags"), '[Tags In "in"]');
});

void test("filter grammar - values: bare words, numbers, double-quoted, backquoted", () => {
  assert.equal(parse("A == redis"), '[A Equal "redis"]');
  assert.equal(parse("A == true"), '[A Equal "true"]');
  assert.equal(parse('A == Meta["x"].y'), '[A Equal "Meta.x.y"]');
  assert.equal(parse("A == -12.50"), '[A Equal "-12.50"]');
  assert.equal(parse("A == 0"), '[A Equal "0"]');
  assert.equal(parse("(A == 7)"), '[A Equal "7"]');
  assert.equal(parse("A == `raw \\n \"q\"`"), '[A Equal "raw \\\\n \\"q\\""]');
  assert.equal(parse('A == "tab\\there"'), '[A Equal "tab\\there"]');
  assert.equal(parse('A == "\\u00e9\\x41\\101"'), '[A Equal "éAA"]');
  assert.equal(parse('A == ""'), '[A Equal ""]');
  assert.equal(parse("A == ``"), '[A Equal ""]');
  assert.equal(parse('"web" in Tags'), '[Tags In "web"]');
  assert.equal(parse("web in Tags"), '[Tags In "web"]');
  assert.equal(parse("5 in Ports"), '[Ports In "5"]');
});

void test("filter grammar - errors carry Consul's prefix and the parser position", () => {
  assert.equal(
    parseError("Port"),
    'Failed to create boolean expression evaluator: 1:5 (4): no match found, expected: "!=", ".", "==", "[", [ \\t\\r\\n] or [a-zA-Z0-9_/]',
  );
  assert.equal(parseError("(A == 1"), "Failed to create boolean expression evaluator: 1:8 (7): rule grouping: Unmatched parentheses");
  assert.equal(parseError("Meta[foo] == 1"), "Failed to create boolean expression evaluator: 1:6 (5): rule index: Invalid index");
  assert.equal(parseError('Meta["a" == 1'), "Failed to create boolean expression evaluator: 1:10 (9): rule index: Unclosed index expression");
  assert.equal(parseError("A == 1x"), "Failed to create boolean expression evaluator: 1:7 (6): rule number: Invalid number literal");
  assert.equal(parseError("A == 1."), "Failed to create boolean expression evaluator: 1:7 (6): rule number: Invalid number literal");
  assert.equal(parseError('A == "abc'), "Failed to create boolean expression evaluator: 1:10 (9): rule string: Unterminated string literal");
  assert.equal(parseError("A == `abc"), "Failed to create boolean expression evaluator: 1:10 (9): rule string: Unterminated string literal");
  assert.equal(parseError('"x" in 5'), "Failed to create boolean expression evaluator: 1:8 (7): rule match: Invalid selector");
  assert.equal(parseError('A == "bad\\q"'), "Failed to create boolean expression evaluator: 1:6 (5): rule string: invalid syntax");
});

void test("filter grammar - incomplete or trailing input is rejected", () => {
  for (const text of ["A ==", "A == 1 and", "A == 1 or", "not", "A == 1 B == 2", "A == 1)", "()", "== 1", "A = 1", "A == 01"]) {
    assert.match(parseError(text), /^Failed to create boolean expression evaluator: \d+:\d+ \(\d+\): /, text);
  }
});

void test("filter grammar - positions count lines, runes and bytes like pigeon", () => {
  assert.equal(parseError('A == "é" and\nB'), 'Failed to create boolean expression evaluator: 2:2 (15): no match found, expected: "!=", ".", "==", "[", [ \\t\\r\\n] or [a-zA-Z0-9_/]');
});

void test("filter grammar - escaped double quote ends the literal as in go-bexpr", () => {
  // DoubleStringChar is !'"' . upstream, so \" cannot appear inside a double-quoted string.
  assert.match(parseError('A == "a\\"b"'), /invalid syntax|no match found|Unterminated/);
});

void test("filter grammar - deep nesting parses in linear time", () => {
  const depth = 500;
  const text = "(".repeat(depth) + "A == 1" + ")".repeat(depth);
  assert.equal(parse(text), '[A Equal "1"]');
  assert.match(parseError("(".repeat(25) + "A == "), /no match found/);
});

void test("filter grammar - nesting beyond the limit is a FilterError, not a stack overflow", () => {
  const text = "(".repeat(MAX_FILTER_NESTING + 1) + "A == 1" + ")".repeat(MAX_FILTER_NESTING + 1);
  assert.match(parseError(text), /rule grouping: Expression nesting exceeds the limit \(512\)$/);
  assert.match(parseError("not ".repeat(MAX_FILTER_NESTING + 1) + "A == 1"), /nesting exceeds the limit/);
});

void test("filter grammar - long or-chains parse without recursion per term", () => {
  const text = Array.from({ length: 20000 }, (_, i) => `A == ${i}`).join(" or ");
  const expr = parseFilterExpression(text);
  assert.equal(expr.type, "or");
});
