// The parsed form of a go-bexpr expression. Operator names are the ones go-bexpr prints in its
// error messages (`Invalid match operator "In" for selector "Port"`), so they double as labels.

export const MatchOperators = {
  equal: "Equal",
  notEqual: "Not Equal",
  in: "In",
  notIn: "Not In",
  isEmpty: "Is Empty",
  isNotEmpty: "Is Not Empty",
  matches: "Matches",
  notMatches: "Not Matches",
} as const;

export type MatchOperator = (typeof MatchOperators)[keyof typeof MatchOperators];

export type MatchExpression = {
  readonly type: "match";
  /** Path segments: `Meta["a-b"].c` is `["Meta", "a-b", "c"]`. */
  readonly selector: readonly string[];
  readonly operator: MatchOperator;
  /** The literal as written (unquoted); absent for `is empty` / `is not empty`. */
  readonly value?: string;
};

export type NotExpression = { readonly type: "not"; readonly operand: Expression };

export type BinaryExpression = {
  readonly type: "and" | "or";
  readonly left: Expression;
  readonly right: Expression;
};

export type Expression = MatchExpression | NotExpression | BinaryExpression;

export function selectorText(selector: readonly string[]): string {
  return selector.join(".");
}
