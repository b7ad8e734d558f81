// The syntax of ACL policy rules: the part of HCL1 that Consul's rules use, and JSON (HCL1
// reads a document starting with "{" as JSON). Produces a tree of items with line:column
// positions so every later error can say where. Ours rather than @cdktf/hcl2json because that
// parser is HCL2: it rejects the HCL1 forms Consul's own docs use for rules (a one-line block
// with several arguments: `service "web" { policy = "write" intentions = "read" }`), it is
// asynchronous (a WebAssembly runtime), and rules are parsed on every server's token path.
// Lexer and parser are generators that pause every TOKENS_PER_STEP tokens, so rules near the
// body cap (tens of thousands of rules) parse in slices under runSliced (issue 12 item 6).

import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

/** Tokens lexed, or consumed by the parser, between two pauses of the sliced parse. */
export const TOKENS_PER_STEP = 1024;

export interface Position {
  line: number;
  column: number;
}

export type SyntaxValue =
  | { kind: "string"; value: string; pos: Position }
  | { kind: "number"; raw: string; pos: Position }
  | { kind: "bool"; value: boolean; pos: Position }
  | { kind: "object"; items: SyntaxItem[]; pos: Position }
  | { kind: "list"; values: SyntaxValue[]; pos: Position };

export interface SyntaxKey {
  text: string;
  pos: Position;
}

/** `a "b" { … }` has keys [a, b] and an object value; `a = v` has one key and `assigned`. */
export interface SyntaxItem {
  keys: SyntaxKey[];
  value: SyntaxValue;
  assigned: boolean;
}

export class RulesSyntaxError extends Error {
  readonly pos: Position;
  constructor(pos: Position, detail: string) {
    super(`At ${pos.line}:${pos.column}: ${detail}`);
    this.name = "RulesSyntaxError";
    this.pos = pos;
  }
}

type TokenKind = "ident" | "string" | "number" | "{" | "}" | "[" | "]" | "=" | ":" | "," | "eof";

interface Token {
  kind: TokenKind;
  text: string;
  pos: Position;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_\-.]/;
const NUMBER_CHAR = /[0-9.eE+\-xXa-fA-F]/;

class Lexer {
  readonly #src: string;
  #i = 0;
  #line = 1;
  #col = 1;

  constructor(src: string) {
    this.#src = src;
  }

  *tokens(): SlicedWork<Token[]> {
    const out: Token[] = [];
    for (;;) {
      const t = this.#next();
      out.push(t);
      if (t.kind === "eof") return out;
      if (out.length % TOKENS_PER_STEP === 0) yield;
    }
  }

  #pos(): Position {
    return { line: this.#line, column: this.#col };
  }

  #advance(): string {
    const ch = this.#src[this.#i++];
    if (ch === "\n") {
      this.#line++;
      this.#col = 1;
    } else {
      this.#col++;
    }
    return ch;
  }

  #peek(offset = 0): string | undefined {
    return this.#src[this.#i + offset];
  }

  #skipSpaceAndComments(): void {
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined) return;
      if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n" || ch === "\uFEFF") {
        this.#advance();
      } else if (ch === "#" || (ch === "/" && this.#peek(1) === "/")) {
        while (this.#peek() !== undefined && this.#peek() !== "\n") this.#advance();
      } else if (ch === "/" && this.#peek(1) === "*") {
        const start = this.#pos();
        this.#advance();
        this.#advance();
        while (!(this.#peek() === "*" && this.#peek(1) === "/")) {
          if (this.#peek() === undefined) throw new RulesSyntaxError(start, "comment not terminated");
          this.#advance();
        }
        this.#advance();
        this.#advance();
      } else {
        return;
      }
    }
  }

  #next(): Token {
    this.#skipSpaceAndComments();
    const pos = this.#pos();
    const ch = this.#peek();
    if (ch === undefined) return { kind: "eof", text: "", pos };
    if ("{}[]=:,".includes(ch)) {
      this.#advance();
      return { kind: ch as TokenKind, text: ch, pos };
    }
    if (ch === '"') return { kind: "string", text: this.#string(pos), pos };
    if (IDENT_START.test(ch)) {
      let text = "";
      while (this.#peek() !== undefined && IDENT_PART.test(this.#peek() as string)) text += this.#advance();
      return { kind: "ident", text, pos };
    }
    if (/[0-9\-]/.test(ch)) {
      let text = "";
      while (this.#peek() !== undefined && NUMBER_CHAR.test(this.#peek() as string)) text += this.#advance();
      return { kind: "number", text, pos };
    }
    if (ch === "<" && this.#peek(1) === "<") throw new RulesSyntaxError(pos, "heredoc strings are not supported in ACL rules");
    throw new RulesSyntaxError(pos, `illegal char ${JSON.stringify(ch)}`);
  }

  #string(start: Position): string {
    this.#advance();
    let out = "";
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined || ch === "\n") throw new RulesSyntaxError(start, "literal not terminated");
      this.#advance();
      if (ch === '"') return out;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const escPos = this.#pos();
      const esc = this.#peek();
      if (esc === undefined) throw new RulesSyntaxError(start, "literal not terminated");
      this.#advance();
      switch (esc) {
        case "n": out += "\n"; break;
        case "t": out += "\t"; break;
        case "r": out += "\r"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "/": out += "/"; break;
        case "\\": out += "\\"; break;
        case '"': out += '"'; break;
        case "u": {
          const hex = this.#src.slice(this.#i, this.#i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new RulesSyntaxError(escPos, "illegal char escape");
          for (let k = 0; k < 4; k++) this.#advance();
          out += String.fromCharCode(parseInt(hex, 16));
          break;
        }
        default:
          throw new RulesSyntaxError(escPos, "illegal char escape");
      }
    }
  }
}

function describe(t: Token): string {
  if (t.kind === "eof") return "end of rules";
  if (t.kind === "string") return `string ${JSON.stringify(t.text)}`;
  if (t.kind === "ident" || t.kind === "number") return JSON.stringify(t.text);
  return `"${t.text}"`;
}

class Parser {
  readonly #tokens: Token[];
  readonly #json: boolean;
  #i = 0;
  /** Where the parse last paused: every loop over items pauses once TOKENS_PER_STEP went by. */
  #pausedAt = 0;

  constructor(tokens: Token[], json: boolean) {
    this.#tokens = tokens;
    this.#json = json;
  }

  #peek(): Token {
    return this.#tokens[this.#i];
  }

  #take(): Token {
    return this.#tokens[this.#i++];
  }

  *#pause(): SlicedWork<void> {
    if (this.#i - this.#pausedAt < TOKENS_PER_STEP) return;
    this.#pausedAt = this.#i;
    yield;
  }

  /** The whole document: top-level items (HCL), or one object (JSON). */
  *document(): SlicedWork<SyntaxItem[]> {
    let items: SyntaxItem[];
    if (this.#json) {
      const open = this.#take();
      items = (yield* this.#jsonObject(open.pos)).items;
    } else {
      items = yield* this.#hclItems(undefined);
    }
    const rest = this.#peek();
    if (rest.kind !== "eof") throw new RulesSyntaxError(rest.pos, `unexpected ${describe(rest)}`);
    return items;
  }

  /** HCL object items up to `close` ("}" inside a block) or end of input (top level). */
  *#hclItems(close: "}" | undefined): SlicedWork<SyntaxItem[]> {
    const items: SyntaxItem[] = [];
    for (;;) {
      const t = this.#peek();
      if (close && t.kind === close) return items;
      if (t.kind === "eof") {
        if (close) throw new RulesSyntaxError(t.pos, `expected "}" before ${describe(t)}`);
        return items;
      }
      items.push(yield* this.#hclItem());
      if (this.#peek().kind === ",") this.#take();
      yield* this.#pause();
    }
  }

  *#hclItem(): SlicedWork<SyntaxItem> {
    const keys: SyntaxKey[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind === "ident" || t.kind === "string") {
        this.#take();
        keys.push({ text: t.text, pos: t.pos });
        continue;
      }
      if (keys.length === 0) throw new RulesSyntaxError(t.pos, `expected a rule name, found ${describe(t)}`);
      if (t.kind === "=") {
        if (keys.length > 1) throw new RulesSyntaxError(t.pos, `nested object expected: "{" got: "="`);
        this.#take();
        return { keys, value: yield* this.#hclValue(), assigned: true };
      }
      if (t.kind === "{") {
        this.#take();
        const items = yield* this.#hclItems("}");
        this.#take();
        return { keys, value: { kind: "object", items, pos: t.pos }, assigned: false };
      }
      const last = keys[keys.length - 1];
      throw new RulesSyntaxError(t.pos, `expected "=" or "{" after ${JSON.stringify(last.text)}, found ${describe(t)}`);
    }
  }

  *#hclValue(): SlicedWork<SyntaxValue> {
    const t = this.#take();
    switch (t.kind) {
      case "string":
        return { kind: "string", value: t.text, pos: t.pos };
      case "number":
        return { kind: "number", raw: t.text, pos: t.pos };
      case "ident":
        if (t.text === "true" || t.text === "false") return { kind: "bool", value: t.text === "true", pos: t.pos };
        throw new RulesSyntaxError(t.pos, `unknown token ${describe(t)}: values are quoted strings`);
      case "{": {
        const items = yield* this.#hclItems("}");
        this.#take();
        return { kind: "object", items, pos: t.pos };
      }
      case "[": {
        const values: SyntaxValue[] = [];
        while (this.#peek().kind !== "]") {
          if (this.#peek().kind === "eof") throw new RulesSyntaxError(this.#peek().pos, `expected "]" before end of rules`);
          values.push(yield* this.#hclValue());
          if (this.#peek().kind === ",") this.#take();
          else if (this.#peek().kind !== "]") throw new RulesSyntaxError(this.#peek().pos, `expected "," or "]", found ${describe(this.#peek())}`);
          yield* this.#pause();
        }
        this.#take();
        return { kind: "list", values, pos: t.pos };
      }
      default:
        throw new RulesSyntaxError(t.pos, `expected a value, found ${describe(t)}`);
    }
  }

  /** A JSON object whose "{" was already taken. */
  *#jsonObject(pos: Position): SlicedWork<{ kind: "object"; items: SyntaxItem[]; pos: Position }> {
    const items: SyntaxItem[] = [];
    if (this.#peek().kind === "}") {
      this.#take();
      return { kind: "object", items, pos };
    }
    for (;;) {
      const key = this.#take();
      if (key.kind !== "string") throw new RulesSyntaxError(key.pos, `expected a quoted object key, found ${describe(key)}`);
      const colon = this.#take();
      if (colon.kind !== ":") throw new RulesSyntaxError(colon.pos, `expected ":", found ${describe(colon)}`);
      items.push({ keys: [{ text: key.text, pos: key.pos }], value: yield* this.#jsonValue(), assigned: true });
      const sep = this.#take();
      if (sep.kind === "}") return { kind: "object", items, pos };
      if (sep.kind !== ",") throw new RulesSyntaxError(sep.pos, `expected "," or "}", found ${describe(sep)}`);
      yield* this.#pause();
    }
  }

  *#jsonValue(): SlicedWork<SyntaxValue> {
    const t = this.#take();
    switch (t.kind) {
      case "string":
        return { kind: "string", value: t.text, pos: t.pos };
      case "number":
        return { kind: "number", raw: t.text, pos: t.pos };
      case "ident":
        if (t.text === "true" || t.text === "false") return { kind: "bool", value: t.text === "true", pos: t.pos };
        throw new RulesSyntaxError(t.pos, `unexpected ${describe(t)}`);
      case "{":
        return yield* this.#jsonObject(t.pos);
      case "[": {
        const values: SyntaxValue[] = [];
        if (this.#peek().kind === "]") {
          this.#take();
          return { kind: "list", values, pos: t.pos };
        }
        for (;;) {
          values.push(yield* this.#jsonValue());
          const sep = this.#take();
          if (sep.kind === "]") return { kind: "list", values, pos: t.pos };
          if (sep.kind !== ",") throw new RulesSyntaxError(sep.pos, `expected "," or "]", found ${describe(sep)}`);
          yield* this.#pause();
        }
      }
      default:
        throw new RulesSyntaxError(t.pos, `expected a value, found ${describe(t)}`);
    }
  }
}

/** Parses rules text (HCL or JSON) into items, pausing every TOKENS_PER_STEP tokens. */
export function* parseRulesSyntaxSteps(text: string): SlicedWork<SyntaxItem[]> {
  const tokens = yield* new Lexer(text).tokens();
  const json = tokens[0].kind === "{";
  return yield* new Parser(tokens, json).document();
}

/** Parses rules text (HCL or JSON) into items; throws RulesSyntaxError with the position. */
export function parseRulesSyntax(text: string): SyntaxItem[] {
  return runWhole(parseRulesSyntaxSteps(text));
}
