// Turns the parsed expression into nested closures once, so filtering N items costs N calls
// and no re-parsing. `and`/`or` short-circuit as go-bexpr's evaluator does.

import type { Expression } from "./ast.ts";
import { compileDynamicMatch } from "./dynamic-match.ts";
import type { FilterSchema } from "./schema.ts";
import { compileTypedMatch } from "./typed-match.ts";

export type FilterPredicate = (item: unknown) => boolean;

export function compileExpression(expr: Expression, schema: FilterSchema | undefined): FilterPredicate {
  switch (expr.type) {
    case "and": {
      const operands = chainOperands(expr, "and").map((operand) => compileExpression(operand, schema));
      return (item) => operands.every((operand) => operand(item));
    }
    case "or": {
      const operands = chainOperands(expr, "or").map((operand) => compileExpression(operand, schema));
      return (item) => operands.some((operand) => operand(item));
    }
    case "not": {
      const operand = compileExpression(expr.operand, schema);
      return (item) => !operand(item);
    }
    case "match":
      return schema === undefined ? compileDynamicMatch(expr) : compileTypedMatch(expr, schema);
  }
}

/**
 * `a or b or c …` parses as a left-leaning tree as deep as the term count; flattening it keeps
 * long generated filters from recursing once per term at compile and evaluation time.
 */
function chainOperands(expr: Expression, type: "and" | "or"): Expression[] {
  const rightOperands: Expression[] = [];
  let current = expr;
  while (current.type === type) {
    rightOperands.push(current.right);
    current = current.left;
  }
  rightOperands.push(current);
  return rightOperands.reverse();
}
