// Recursive-descent parser for the go-bexpr grammar Consul uses (see http-core.md §10).
// It follows the PEG's ordered choices, including where whitespace is mandatory (`not(`
// and `)or(` are rejected, as upstream does), and reports failures the way the generated
// pigeon parser does: `line:col (offset): no match found, expected: …` at the farthest
// position reached, or `line:col (offset): rule <name>: <reason>` for the grammar's own errors.

import { MatchOperators, selectorText } from "./ast.ts";
import type { Expression, MatchExpression, MatchOperator } from "./ast.ts";
import { FilterError } from "./filter-error.ts";
import { unquoteGo } from "./strconv.ts";

const WHITESPACE_CLASS = "[ \\t\\r\\n]";

/**
 * Limit on nested `(` and `not` (upstream has none; Go stacks grow). Keeps a hostile query
 * string from overflowing the JS stack; real filters nest a handful of levels.
 */
export const MAX_FILTER_NESTING = 512;

function isWhitespace(ch: string | undefined): boolean {
  return ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
}

function isLetter(ch: string | undefined): boolean {
  return ch !== undefined && ((ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z"));
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= "0" && ch <= "9";
}

function isIdentifierPart(ch: string | undefined): boolean {
  return isLetter(ch) || isDigit(ch) || ch === "_" || ch === "/";
}

/** Thrown internally for the grammar's explicit errors; converted to FilterError at the top. */
class GrammarError {
  readonly at: number;
  readonly rule: string;
  readonly reason: string;
  constructor(at: number, rule: string, reason: string) {
    this.at = at;
    this.rule = rule;
    this.reason = reason;
  }
}

type OperatorSpec = { readonly words: readonly string[]; readonly operator: MatchOperator };

// Ordered as in the grammar: `not contains` must be tried before `not matches` fails over.
const SELECTOR_VALUE_WORD_OPERATORS: readonly OperatorSpec[] = [
  { words: ["contains"], operator: MatchOperators.in },
  { words: ["not", "contains"], operator: MatchOperators.notIn },
  { words: ["matches"], operator: MatchOperators.matches },
  { words: ["not", "matches"], operator: MatchOperators.notMatches },
];

const EMPTINESS_OPERATORS: readonly OperatorSpec[] = [
  { words: ["is", "empty"], operator: MatchOperators.isEmpty },
  { words: ["is", "not", "empty"], operator: MatchOperators.isNotEmpty },
];

const VALUE_SELECTOR_OPERATORS: readonly OperatorSpec[] = [
  { words: ["in"], operator: MatchOperators.in },
  { words: ["not", "in"], operator: MatchOperators.notIn },
];

class Parser {
  private readonly src: string;
  private pos = 0;
  private depth = 0;
  private farthest = 0;
  private expected = new Set<string>();

  constructor(src: string) {
    this.src = src;
  }

  parse(): Expression {
    this.skipWhitespace();
    const expr = this.parseOr();
    if (expr !== null) {
      this.skipWhitespace();
      if (this.pos === this.src.length) return expr;
      this.expect(this.pos, "EOF");
    }
    throw this.noMatch();
  }

  // ---- failure bookkeeping (pigeon's "farthest failure" rule) ----

  private expect(at: number, what: string): void {
    if (at < this.farthest) return;
    if (at > this.farthest) {
      this.farthest = at;
      this.expected = new Set();
    }
    this.expected.add(what);
  }

  private noMatch(): FilterError {
    const eof = this.expected.delete("EOF");
    const list = [...this.expected].sort();
    if (eof) list.push("EOF");
    const joined = list.length <= 1 ? list.join("") : `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
    return new FilterError(`${this.position(this.farthest)}: no match found, expected: ${joined}`);
  }

  position(at: number): string {
    const before = this.src.slice(0, at);
    const lines = before.split("\n");
    const line = lines.length;
    const col = [...lines[lines.length - 1]].length + 1;
    return `${line}:${col} (${Buffer.byteLength(before)})`;
  }

  // ---- lexical helpers ----

  private literal(text: string): boolean {
    if (this.src.startsWith(text, this.pos)) {
      this.pos += text.length;
      return true;
    }
    this.expect(this.pos, JSON.stringify(text));
    return false;
  }

  /** `_` in the grammar: one or more of space, tab, CR, LF. */
  private whitespace(): boolean {
    if (!isWhitespace(this.src[this.pos])) {
      this.expect(this.pos, WHITESPACE_CLASS);
      return false;
    }
    this.skipWhitespace();
    return true;
  }

  private skipWhitespace(): void {
    while (isWhitespace(this.src[this.pos])) this.pos++;
    this.expect(this.pos, WHITESPACE_CLASS);
  }

  /** Keyword operators: `_ word (_ word)* _`; restores the position when they do not match. */
  private wordOperator(spec: OperatorSpec, trailingWhitespace: boolean): boolean {
    const start = this.pos;
    for (const word of spec.words) {
      if (!this.whitespace() || !this.literal(word)) {
        this.pos = start;
        return false;
      }
    }
    if (trailingWhitespace && !this.whitespace()) {
      this.pos = start;
      return false;
    }
    return true;
  }

  // ---- expressions ----

  private parseOr(): Expression | null {
    let left = this.parseAnd();
    if (left === null) return null;
    for (;;) {
      const save = this.pos;
      if (this.whitespace() && this.literal("or") && this.whitespace()) {
        const right = this.parseAnd();
        if (right !== null) {
          left = { type: "or", left, right };
          continue;
        }
      }
      this.pos = save;
      return left;
    }
  }

  private parseAnd(): Expression | null {
    let left = this.parseNot();
    if (left === null) return null;
    for (;;) {
      const save = this.pos;
      if (this.whitespace() && this.literal("and") && this.whitespace()) {
        const right = this.parseNot();
        if (right !== null) {
          left = { type: "and", left, right };
          continue;
        }
      }
      this.pos = save;
      return left;
    }
  }

  private enter(): void {
    if (++this.depth > MAX_FILTER_NESTING) {
      throw new GrammarError(this.pos, "grouping", `Expression nesting exceeds the limit (${MAX_FILTER_NESTING})`);
    }
  }

  private parseNot(): Expression | null {
    const save = this.pos;
    if (this.literal("not") && this.whitespace()) {
      this.enter();
      const operand = this.parseNot();
      this.depth--;
      if (operand !== null) {
        return operand.type === "not" ? operand.operand : { type: "not", operand };
      }
    }
    this.pos = save;
    return this.parseGroup();
  }

  private parseGroup(): Expression | null {
    const save = this.pos;
    if (this.literal("(")) {
      // No match expression starts with "(", so the grouping is the only way forward.
      this.skipWhitespace();
      this.enter();
      const inner = this.parseOr();
      this.depth--;
      if (inner === null) {
        this.pos = save;
        return null;
      }
      this.skipWhitespace();
      if (this.literal(")")) return inner;
      throw new GrammarError(this.pos, "grouping", "Unmatched parentheses");
    }
    return this.parseMatch();
  }

  private parseMatch(): MatchExpression | null {
    const start = this.pos;
    const selector = this.parseSelector();
    if (selector !== null) {
      const afterSelector = this.pos;
      const withValue = this.parseSelectorOperatorValue(selector);
      if (withValue !== null) return withValue;
      this.pos = afterSelector;
      for (const spec of EMPTINESS_OPERATORS) {
        if (this.wordOperator(spec, false)) return { type: "match", selector, operator: spec.operator };
      }
    }
    this.pos = start;
    const value = this.parseValue();
    if (value !== null) {
      for (const spec of VALUE_SELECTOR_OPERATORS) {
        if (!this.wordOperator(spec, true)) continue;
        const target = this.parseSelector();
        if (target === null) throw new GrammarError(this.pos, "match", "Invalid selector");
        return { type: "match", selector: target, operator: spec.operator, value };
      }
    }
    this.pos = start;
    return null;
  }

  private parseSelectorOperatorValue(selector: readonly string[]): MatchExpression | null {
    const start = this.pos;
    let operator: MatchOperator | undefined;
    for (const [symbol, op] of [["==", MatchOperators.equal], ["!=", MatchOperators.notEqual]] as const) {
      this.skipWhitespace();
      if (this.literal(symbol)) {
        this.skipWhitespace();
        operator = op;
        break;
      }
      this.pos = start;
    }
    if (operator === undefined) {
      for (const spec of SELECTOR_VALUE_WORD_OPERATORS) {
        if (this.wordOperator(spec, true)) {
          operator = spec.operator;
          break;
        }
      }
    }
    if (operator === undefined) return null;
    const value = this.parseValue();
    if (value === null) return null;
    return { type: "match", selector, operator, value };
  }

  // ---- selectors and values ----

  private parseIdentifier(): string | null {
    const start = this.pos;
    if (!isLetter(this.src[this.pos])) {
      this.expect(this.pos, "[a-zA-Z]");
      return null;
    }
    this.pos++;
    while (isIdentifierPart(this.src[this.pos])) this.pos++;
    this.expect(this.pos, "[a-zA-Z0-9_/]");
    return this.src.slice(start, this.pos);
  }

  private parseSelector(): string[] | null {
    const first = this.parseIdentifier();
    if (first === null) return null;
    const path = [first];
    for (;;) {
      const save = this.pos;
      if (this.literal(".")) {
        const ident = this.parseIdentifier();
        if (ident !== null) {
          path.push(ident);
          continue;
        }
        const digitsStart = this.pos;
        while (isDigit(this.src[this.pos])) this.pos++;
        if (this.pos > digitsStart) {
          path.push(this.src.slice(digitsStart, this.pos));
          continue;
        }
        this.expect(this.pos, "[0-9]");
        this.pos = save;
        return path;
      }
      if (this.literal("[")) {
        this.skipWhitespace();
        const key = this.parseStringLiteral();
        if (key === null) throw new GrammarError(this.pos, "index", "Invalid index");
        this.skipWhitespace();
        if (!this.literal("]")) throw new GrammarError(this.pos, "index", "Unclosed index expression");
        path.push(key);
        continue;
      }
      this.pos = save;
      return path;
    }
  }

  private parseValue(): string | null {
    const selector = this.parseSelector();
    if (selector !== null) return selectorText(selector);
    const number = this.parseNumber();
    if (number !== null) return number;
    return this.parseStringLiteral();
  }

  private parseNumber(): string | null {
    const start = this.pos;
    if (this.src[this.pos] === "-") this.pos++;
    else this.expect(this.pos, '"-"');
    if (this.src[this.pos] === "0") {
      this.pos++;
    } else if (isDigit(this.src[this.pos])) {
      while (isDigit(this.src[this.pos])) this.pos++;
    } else {
      this.expect(this.pos, "[1-9]");
      this.expect(this.pos, '"0"');
      this.pos = start;
      return null;
    }
    if (this.src[this.pos] === "." && isDigit(this.src[this.pos + 1])) {
      this.pos += 2;
      while (isDigit(this.src[this.pos])) this.pos++;
    }
    const next = this.src[this.pos];
    if (next !== undefined && next !== ")" && !isWhitespace(next)) {
      throw new GrammarError(this.pos, "number", "Invalid number literal");
    }
    return this.src.slice(start, this.pos);
  }

  private parseStringLiteral(): string | null {
    const start = this.pos;
    const quote = this.src[this.pos];
    if (quote !== '"' && quote !== "`") {
      this.expect(this.pos, '"\\""');
      this.expect(this.pos, '"`"');
      return null;
    }
    const end = this.src.indexOf(quote, start + 1);
    if (end === -1) {
      this.pos = this.src.length;
      throw new GrammarError(this.pos, "string", "Unterminated string literal");
    }
    const value = unquoteGo(this.src.slice(start, end + 1));
    if (value === undefined) throw new GrammarError(start, "string", "invalid syntax");
    this.pos = end + 1;
    return value;
  }

  grammarFailure(error: GrammarError): FilterError {
    return new FilterError(`${this.position(error.at)}: rule ${error.rule}: ${error.reason}`);
  }
}

/** Parses a non-blank filter expression; throws FilterError with Consul's message on failure. */
export function parseFilterExpression(expression: string): Expression {
  const parser = new Parser(expression);
  try {
    return parser.parse();
  } catch (error) {
    if (error instanceof GrammarError) throw parser.grammarFailure(error);
    throw error;
  }
}
