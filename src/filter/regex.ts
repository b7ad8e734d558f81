// `matches` uses Go's RE2 syntax with an unanchored search. JavaScript's RegExp covers the
// common subset; this translates the RE2-only spellings clients actually write.

import { FilterError } from "./filter-error.ts";

const LEADING_FLAGS = /^\(\?([imsU]+)\)/;

/** Compiles an RE2 pattern as a JS RegExp, or throws Consul's regexp compile error. */
export function compileRe2(pattern: string): RegExp {
  let source = pattern;
  let flags = "";
  const leading = LEADING_FLAGS.exec(source);
  if (leading !== null) {
    // RE2's U (ungreedy) has no JS equivalent; dropping it keeps the match set, not the span.
    flags = [...new Set(leading[1].replaceAll("U", ""))].join("");
    source = source.slice(leading[0].length);
  }
  // \A and \z are absolute text boundaries in RE2 regardless of the (?m) flag.
  source = source.replaceAll("(?P<", "(?<").replaceAll("\\A", "(?<![\\s\\S])").replaceAll("\\z", "(?![\\s\\S])");
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new FilterError(`Failed to compile regular expression ${JSON.stringify(pattern)}: error parsing regexp: ${reason}`);
  }
}
