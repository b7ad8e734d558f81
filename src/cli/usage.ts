// Help text in the layout of consul's flags.Usage: the command's own text, then
// "HTTP API Options" and "Command Options", each flag as `  -name=<example>` followed by its
// description wrapped at 72 columns and indented by 5.
import type { FlagSpec, FlagTable } from "./go-flags.ts";

const MAX_LINE_LENGTH = 72;
const DESCRIPTION_INDENT = 5;

/** Greedy word wrap, as github.com/kr/text.Wrap does it. */
export function wrapWords(text: string, limit: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (current === "") current = word;
    else if (current.length + 1 + word.length <= limit) current += ` ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}

function exampleOf(spec: FlagSpec): string {
  switch (spec.kind) {
    case "bool":
      return "";
    case "string":
      return spec.example ?? "string";
    case "int":
    case "uint":
    case "duration":
      return spec.kind;
    // Go's flag.UnquoteUsage names uint64 flags "uint" too.
    case "uint64":
      return "uint";
    case "repeatable":
    case "map":
      return spec.example ?? "value";
  }
}

function defaultText(spec: FlagSpec): string {
  switch (spec.kind) {
    case "bool":
      return spec.default ? "true" : "";
    case "string":
      return spec.default;
    case "int":
    case "uint":
    case "uint64":
      return spec.default === 0 || spec.default === 0n ? "" : String(spec.default);
    default:
      return "";
  }
}

function renderFlag(name: string, spec: FlagSpec): string {
  const example = exampleOf(spec);
  const head = example === "" ? `  -${name}` : `  -${name}=<${example}>`;
  const fallback = defaultText(spec);
  const description = fallback === "" ? spec.help : `${spec.help} (${fallback})`;
  const body = wrapWords(description, MAX_LINE_LENGTH - DESCRIPTION_INDENT)
    .map((line) => " ".repeat(DESCRIPTION_INDENT) + line)
    .join("\n");
  return `${head}\n${body}\n\n`;
}

/**
 * Renders `text` plus the flag sections. Flags whose names appear in `httpFlagNames` go under
 * "HTTP API Options", the rest under "Command Options"; both sorted by name like Go's VisitAll.
 */
export function renderUsage(text: string, table: FlagTable | undefined, httpFlagNames: ReadonlySet<string>): string {
  let out = `${text.trim()}\n\n`;
  if (table !== undefined) {
    const names = Object.keys(table).sort();
    const http = names.filter((n) => httpFlagNames.has(n));
    const own = names.filter((n) => !httpFlagNames.has(n));
    if (http.length > 0) out += "HTTP API Options\n\n" + http.map((n) => renderFlag(n, table[n])).join("");
    if (own.length > 0) out += "Command Options\n\n" + own.map((n) => renderFlag(n, table[n])).join("");
  }
  return out.replace(/\n+$/, "");
}
