/** Prefix Consul puts on every filter creation failure (agent/structs and go-bexpr CreateFilter). */
export const FILTER_ERROR_PREFIX = "Failed to create boolean expression evaluator: ";

/**
 * A filter expression that cannot be compiled. `message` is the full text Consul returns, e.g.
 * `Failed to create boolean expression evaluator: Selector "Foo" is not valid`.
 */
export class FilterError extends Error {
  override readonly name = "FilterError";
  /** The part after the Consul prefix (parser position or validation text). */
  readonly detail: string;

  constructor(detail: string, options?: { cause?: unknown }) {
    super(FILTER_ERROR_PREFIX + detail, options);
    this.detail = detail;
  }
}
