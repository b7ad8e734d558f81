import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilter, FilterError } from "../../../src/filter/filter.ts";
import { Field } from "../../../src/filter/schema.ts";
import type { FilterSchema } from "../../../src/filter/schema.ts";

const schema: FilterSchema = Field.struct({
  Name: Field.string,
  Port: Field.int,
  Index: Field.uint,
  Ratio: Field.float,
  Enabled: Field.bool,
  Tags: Field.list(Field.string),
  Ports: Field.list(Field.int),
  Flags: Field.list(Field.bool),
  Meta: Field.map(Field.string),
  Config: Field.map(),
  Addresses: Field.map(Field.struct({ Address: Field.string, Port: Field.int })),
  Weights: Field.struct({ Passing: Field.int }),
  Checks: Field.list(Field.struct({ Status: Field.string, Tags: Field.list(Field.string), Meta: Field.map(Field.string) })),
  Nested: Field.list(Field.list(Field.struct({ Leaf: Field.string }))),
});

type Item = Record<string, unknown>;

const web: Item = {
  Name: "web-frontend",
  Port: 8080,
  Index: 12n,
  Ratio: 0.5,
  Enabled: true,
  Tags: ["v1", "primary"],
  Ports: [80, 443],
  Flags: [false],
  Meta: { env: "prod", "my-key": "x", "a.b": "dotted" },
  Config: { anything: { deep: 1 } },
  Addresses: { lan: { Address: "10.0.0.1", Port: 80 } },
  Weights: { Passing: 3 },
  Checks: [
    { Status: "passing", Tags: ["a"], Meta: {} },
    { Status: "critical", Tags: [], Meta: { reason: "down" } },
  ],
  Nested: [[{ Leaf: "x" }], [{ Leaf: "y" }]],
};

const empty: Item = {
  Name: "",
  Port: 0,
  Index: 0,
  Ratio: 0,
  Enabled: false,
  Tags: [],
  Ports: [],
  Flags: [],
  Meta: {},
  Config: {},
  Addresses: {},
  Weights: { Passing: 0 },
  Checks: [],
  Nested: [],
};

/** Nulls and missing fields everywhere: must behave exactly like the zero values above. */
const bare: Item = { Name: null, Tags: null, Meta: null, Weights: null, Checks: null };

function check(expression: string, item: Item): boolean {
  return compileFilter(expression, { schema })(item);
}

function rejects(expression: string): string {
  try {
    compileFilter(expression, { schema });
  } catch (error) {
    assert.ok(error instanceof FilterError);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(expression)} to be rejected`);
}

const PREFIX = "Failed to create boolean expression evaluator: ";

test("filter string field - ==, !=, in (substring), not in, matches (unanchored), not matches", () => {
  assert.equal(check('Name == "web-frontend"', web), true);
  assert.equal(check('Name == "Web-frontend"', web), false, "case-sensitive");
  assert.equal(check('Name != "web"', web), true);
  assert.equal(check('"front" in Name', web), true);
  assert.equal(check('Name contains "front"', web), true);
  assert.equal(check('"back" in Name', web), false);
  assert.equal(check('"back" not in Name', web), true);
  assert.equal(check('Name not contains "front"', web), false);
  assert.equal(check('Name matches "front"', web), true, "unanchored search");
  assert.equal(check('Name matches "^front"', web), false);
  assert.equal(check('Name matches "^web-.*d$"', web), true);
  assert.equal(check('Name not matches "^db"', web), true);
  assert.equal(check('Name matches "(?i)^WEB"', web), true, "RE2 inline flags");
  assert.equal(check('Name matches "(?P<p>web)"', web), true, "RE2 named groups");
});

test("filter string field - bare words and numbers compare as their text", () => {
  assert.equal(check("Name == web-frontend", web), false, "bare word stops at '-'? no: parse error expected elsewhere");
});
