// Public entry point of the ?filter= language (hashicorp/go-bexpr as Consul uses it).

import { compileExpression } from "./compile.ts";
import type { FilterPredicate } from "./compile.ts";
import { parseFilterExpression } from "./parser.ts";
import type { FilterSchema } from "./schema.ts";

export type { FilterPredicate } from "./compile.ts";
export type { FilterSchema } from "./schema.ts";
export { FilterError } from "./filter-error.ts";

const ALWAYS_TRUE: FilterPredicate = () => true;

/**
 * Compiles `expression` into a predicate over one response item. With `schema`, unknown
 * selectors, unsupported operators and uncoercible values fail here (as Consul validates
 * against the Go type); without it the item's own shape is used at evaluation time.
 * Throws FilterError whose message is Consul's text.
 */
export function compileFilter(expression: string, options?: { schema?: FilterSchema }): FilterPredicate {
  if (expression.trim() === "") return ALWAYS_TRUE;
  return compileExpression(parseFilterExpression(expression), options?.schema);
}
