import { test } from "node:test";
import assert from "node:assert/strict";
import { columnize, tabwriterAlign } from "../../../src/cli/columns.ts";
import { renderUsage, wrapWords } from "../../../src/cli/usage.ts";
import { boolFlag, stringFlag } from "../../../src/cli/go-flags.ts";

void test("columnize - pads all but the last column, glue of two spaces, no trailing newline", () => {
  const out = columnize(["Node|Address|Status", "a-long-name|10.0.0.1:8301|alive", "b|[::1]:8301|failed"]);
  assert.equal(
    out,
    ["Node         Address        Status", "a-long-name  10.0.0.1:8301  alive", "b            [::1]:8301     failed"].join("\n"),
  );
});

void test("columnize - cells are trimmed and empty trailing cells keep padding before them", () => {
  const out = columnize([" x |y|z", "long||"]);
  assert.equal(out, "x     y  z\nlong     ");
});

void test("tabwriter - padding 6 after the widest cell, last cell unpadded", () => {
  assert.deepEqual(tabwriterAlign([["CreateIndex", "5"], ["Key", "foo"]]), ["CreateIndex      5", "Key              foo"]);
});

void test("usage - flags split into HTTP API Options and Command Options, sorted, wrapped", () => {
  const text = renderUsage(
    "\nUsage: consulate x\n",
    { zeta: boolFlag("Zeta flag."), token: stringFlag("The token.", "", "value"), alpha: stringFlag("Alpha.", "d") },
    new Set(["token"]),
  );
  assert.equal(
    text,
    [
      "Usage: consulate x",
      "",
      "HTTP API Options",
      "",
      "  -token=<value>",
      "     The token.",
      "",
      "Command Options",
      "",
      "  -alpha=<string>",
      "     Alpha. (d)",
      "",
      "  -zeta",
      "     Zeta flag.",
    ].join("\n"),
  );
});

void test("usage - word wrap never exceeds the limit for normal words", () => {
  const lines = wrapWords("a ".repeat(100), 10);
  assert.ok(lines.every((line) => line.length <= 10));
  assert.equal(lines.join(" ").split(" ").length, 100);
});
