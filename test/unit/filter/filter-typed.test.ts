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

void test("filter string field - ==, !=, in (substring), not in, matches (unanchored), not matches", () => {
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

void test("filter string field - bare words and numbers compare as their text", () => {
  const item = { ...web, Name: "redis" };
  assert.equal(check("Name == redis", item), true);
  assert.equal(check("Name == 8080", { ...web, Name: "8080" }), true);
  assert.equal(check("Name == `redis`", item), true);
  assert.equal(check('Name == "re\\x64is"', item), true, "Go escapes in double quotes");
});

void test("filter string field - null or missing is the empty string", () => {
  assert.equal(check('Name == ""', bare), true);
  assert.equal(check('Name != ""', bare), false);
  assert.equal(check('"" in Name', bare), true);
  assert.equal(check('Name matches "^$"', bare), true);
  assert.equal(check('Name == ""', {}), true);
});

void test("filter int field - value coerced to the field type, number or bigint items", () => {
  assert.equal(check("Port == 8080", web), true);
  assert.equal(check('Port == "8080"', web), true, "quoted literal is coerced too");
  assert.match(rejects("Port == 0x1F90"), /rule number: Invalid number literal/, "bare hex is not a number token");
  assert.equal(check('Port == "0x1F90"', web), true, "ParseInt base 0 inside a string");
  assert.equal(check("Port != 8080", web), false);
  assert.equal(check("Port == 8080", { ...web, Port: 8080n }), true);
  assert.equal(check("Port == 0", bare), true, "null is zero");
  assert.equal(check("Port == -1", { Port: -1 }), true);
  assert.equal(check("Port == 1", { Port: 1.5 }), false);
  assert.equal(check("Index == 12", web), true);
  assert.equal(check("Index == 12", { Index: 12 }), true);
  assert.equal(check('Index == "18446744073709551615"', { Index: 18446744073709551615n }), true);
});

void test("filter int field - uncoercible literal fails at compile time with Go's text", () => {
  assert.equal(rejects("Port == abc"), PREFIX + 'Failed to coerce value "abc" for selector "Port": strconv.ParseInt: parsing "abc": invalid syntax');
  assert.equal(rejects("Port == 1.5"), PREFIX + 'Failed to coerce value "1.5" for selector "Port": strconv.ParseInt: parsing "1.5": invalid syntax');
  assert.equal(rejects("Index == -1"), PREFIX + 'Failed to coerce value "-1" for selector "Index": strconv.ParseUint: parsing "-1": invalid syntax');
  assert.equal(rejects("Weights.Passing == true"), PREFIX + 'Failed to coerce value "true" for selector "Weights.Passing": strconv.ParseInt: parsing "true": invalid syntax');
});

void test("filter float field - ParseFloat coercion", () => {
  assert.equal(check("Ratio == 0.5", web), true);
  assert.equal(check("Ratio == 0.50", web), true);
  assert.equal(check("Ratio != 1", web), true);
  assert.equal(check("Ratio == 0", bare), true);
  assert.match(rejects("Ratio == half"), /Failed to coerce value "half" for selector "Ratio": strconv.ParseFloat/);
});

void test("filter bool field - true/false and ParseBool forms", () => {
  assert.equal(check("Enabled == true", web), true);
  assert.equal(check("Enabled == True", web), true);
  assert.equal(check("Enabled == 1", web), true);
  assert.equal(check('Enabled == "t"', web), true);
  assert.equal(check("Enabled == false", web), false);
  assert.equal(check("Enabled != false", web), true);
  assert.equal(check("Enabled == false", bare), true, "null is false");
  assert.equal(rejects("Enabled == yes"), PREFIX + 'Failed to coerce value "yes" for selector "Enabled": strconv.ParseBool: parsing "yes": invalid syntax');
});

void test("filter scalar fields - only == and != are allowed on numbers and bools", () => {
  assert.equal(rejects("80 in Port"), PREFIX + 'Invalid match operator "In" for selector "Port"');
  assert.equal(rejects("Port is empty"), PREFIX + 'Invalid match operator "Is Empty" for selector "Port"');
  assert.equal(rejects('Enabled matches "t"'), PREFIX + 'Invalid match operator "Matches" for selector "Enabled"');
  assert.equal(rejects("Name is empty"), PREFIX + 'Invalid match operator "Is Empty" for selector "Name"');
  assert.equal(rejects("Name is not empty"), PREFIX + 'Invalid match operator "Is Not Empty" for selector "Name"');
});

void test("filter list of strings - in / not in (element equality), is empty / is not empty", () => {
  assert.equal(check('"v1" in Tags', web), true);
  assert.equal(check("primary in Tags", web), true);
  assert.equal(check('Tags contains "v1"', web), true);
  assert.equal(check('"v" in Tags', web), false, "element equality, not substring");
  assert.equal(check('"V1" in Tags', web), false, "case-sensitive");
  assert.equal(check('"v2" not in Tags', web), true);
  assert.equal(check('Tags not contains "v1"', web), false);
  assert.equal(check("Tags is empty", web), false);
  assert.equal(check("Tags is not empty", web), true);
  assert.equal(check("Tags is empty", empty), true);
  assert.equal(check("Tags is empty", bare), true, "null list is empty");
  assert.equal(check('"v1" in Tags', bare), false);
  assert.equal(check('"v1" not in Tags', bare), true);
  assert.equal(rejects('Tags == "v1"'), PREFIX + 'Invalid match operator "Equal" for selector "Tags"');
  assert.equal(rejects('Tags matches "v"'), PREFIX + 'Invalid match operator "Matches" for selector "Tags"');
  assert.equal(rejects("Tags.x == 1"), PREFIX + 'Selector "Tags.x" is not valid');
});

void test("filter list of numbers and bools - literal coerced to the element type", () => {
  assert.equal(check("443 in Ports", web), true);
  assert.equal(check('"443" in Ports', web), true);
  assert.equal(check("8443 in Ports", web), false);
  assert.equal(check("443 in Ports", { Ports: [443n] }), true);
  assert.equal(check("false in Flags", web), true);
  assert.equal(check("true in Flags", web), false);
  assert.equal(rejects("http in Ports"), PREFIX + 'Failed to coerce value "http" for selector "Ports": strconv.ParseInt: parsing "http": invalid syntax');
});

void test("filter map - key presence with in, emptiness, values via dot and index syntax", () => {
  assert.equal(check('"env" in Meta', web), true);
  assert.equal(check('Meta contains "env"', web), true);
  assert.equal(check('"prod" in Meta', web), false, "in tests keys, not values");
  assert.equal(check('"zone" not in Meta', web), true);
  assert.equal(check("Meta is empty", web), false);
  assert.equal(check("Meta is not empty", web), true);
  assert.equal(check("Meta is empty", bare), true);
  assert.equal(check("Meta.env == prod", web), true);
  assert.equal(check('Meta["env"] == "prod"', web), true);
  assert.equal(check('Meta["my-key"] == x', web), true);
  assert.equal(check('Meta["a.b"] == dotted', web), true, "index syntax keeps dots inside the key");
  assert.equal(check('Meta.env != "prod"', web), false);
  assert.equal(check('"ro" in Meta.env', web), true, "map values are strings: substring");
  assert.equal(check('Meta.env matches "^pr"', web), true);
  assert.equal(rejects('Meta == "x"'), PREFIX + 'Invalid match operator "Equal" for selector "Meta"');
  assert.equal(rejects("Meta.env is empty"), PREFIX + 'Invalid match operator "Is Empty" for selector "Meta.env"');
  assert.equal(rejects("Meta.env.deeper == x"), PREFIX + 'Selector "Meta.env.deeper" is not valid');
});

void test("filter map - a missing key: ==, in, matches false; !=, not in, not matches true", () => {
  assert.equal(check('Meta.zone == "a"', web), false);
  assert.equal(check('Meta.zone == ""', web), false, "go-bexpr v0.1.2: a missing key equals nothing");
  assert.equal(check('Meta.zone != "a"', web), true);
  assert.equal(check('"a" in Meta.zone', web), false);
  assert.equal(check('"a" not in Meta.zone', web), true);
  assert.equal(check('Meta.zone matches ".*"', web), false);
  assert.equal(check('Meta.zone not matches "x"', web), true);
  assert.equal(check('Meta.env == "prod"', bare), false, "null map has no keys");
  assert.equal(check('Meta.constructor == ""', web), false, "prototype names are not keys");
  assert.equal(check('"constructor" in Meta', web), false);
  assert.equal(check('"toString" in Meta', {}), false);
});

void test("filter map without a value type - only emptiness and key presence", () => {
  assert.equal(check('"anything" in Config', web), true);
  assert.equal(check("Config is not empty", web), true);
  assert.equal(rejects("Config.anything == 1"), PREFIX + 'Selector "Config.anything" is not valid');
});

void test("filter map of structs - Addresses.<any>.Field", () => {
  assert.match(rejects("Addresses.lan.Address == 10.0.0.1"), /Invalid number literal/, "IPs must be quoted");
  assert.equal(check('Addresses.lan.Address == "10.0.0.1"', web), true);
  assert.equal(check("Addresses.lan.Port == 80", web), true);
  assert.equal(check("Addresses.wan.Port == 80", web), false);
  assert.equal(check("Addresses.wan.Port != 80", web), true, "missing key below the map is absent");
  assert.equal(check('"lan" in Addresses', web), true);
  assert.equal(rejects("Addresses.lan == x"), PREFIX + 'Invalid match operator "Equal" for selector "Addresses.lan"');
  assert.equal(rejects("Addresses.lan.Nope == x"), PREFIX + 'Selector "Addresses.lan.Nope" is not valid');
});

void test("filter struct - nested fields; null struct reads as zero values", () => {
  assert.equal(check("Weights.Passing == 3", web), true);
  assert.equal(check("Weights.Passing == 0", bare), true);
  assert.equal(check("Weights.Passing == 0", {}), true);
  assert.equal(rejects("Weights == 1"), PREFIX + 'Invalid match operator "Equal" for selector "Weights"');
  assert.equal(rejects("Weights is empty"), PREFIX + 'Invalid match operator "Is Empty" for selector "Weights"');
  assert.equal(rejects("Weights.Critical == 1"), PREFIX + 'Selector "Weights.Critical" is not valid');
});

void test("filter list of structs - implicit ANY through the list", () => {
  assert.equal(check("Checks.Status == critical", web), true);
  assert.equal(check("Checks.Status == warning", web), false);
  assert.equal(check("Checks.Status != passing", web), true, "some check is not passing");
  assert.equal(check("not Checks.Status != passing", web), false, "not all passing");
  const allPassing = { Checks: [{ Status: "passing" }, { Status: "passing" }] };
  assert.equal(check("not Checks.Status != passing", allPassing), true);
  assert.equal(check("Checks.Status != passing", allPassing), false);
  assert.equal(check('Checks.Status matches "^crit"', web), true);
  assert.equal(check('"a" in Checks.Tags', web), true);
  assert.equal(check('"a" not in Checks.Tags', web), true, "the second check lacks a");
  assert.equal(check("Checks.Tags is empty", web), true, "the second check has no tags");
  assert.equal(check('Checks.Meta.reason == "down"', web), true);
  assert.equal(check('Checks.Meta.reason != "down"', web), true, "the first check lacks the key");
  assert.equal(check("Checks is empty", web), false);
  assert.equal(check("Checks is not empty", web), true);
  assert.equal(check("Checks is empty", bare), true);
  assert.equal(check("Checks.Status == passing", empty), false, "ANY over nothing is false");
  assert.equal(check("Checks.Status != passing", empty), false, "even for a negated operator");
  assert.equal(check("Nested.Leaf == y", web), true, "lists of lists are flattened");
  assert.equal(rejects('"x" in Checks'), PREFIX + 'Invalid match operator "In" for selector "Checks"');
  assert.equal(rejects("Checks.Nope == x"), PREFIX + 'Selector "Checks.Nope" is not valid');
});

void test("filter boolean structure - and, or, not, parentheses, short-circuit", () => {
  assert.equal(check('Name == "web-frontend" and Port == 8080', web), true);
  assert.equal(check('Name == "web-frontend" and Port == 1', web), false);
  assert.equal(check('Name == "x" or Port == 8080', web), true);
  assert.equal(check('Name == "x" or Port == 1', web), false);
  assert.equal(check("not Port == 1", web), true);
  assert.equal(check('Port == 1 and Port == 2 or "v1" in Tags', web), true);
  assert.equal(check('Port == 1 and (Port == 2 or "v1" in Tags)', web), false);
  assert.equal(check('not (Port == 1 or Port == 2) and Meta.env == "prod"', web), true);
  const many = Array.from({ length: 5000 }, (_, i) => `Port == ${i}`).join(" or ");
  assert.equal(check(many, { Port: 4999 }), true);
  assert.equal(check(many, { Port: 5000 }), false);
});

void test("filter validation - the first invalid segment is named; unknown top-level selector", () => {
  assert.equal(rejects("Nope == 1"), PREFIX + 'Selector "Nope" is not valid');
  assert.equal(rejects("Weights.Passing.Deep == 1"), PREFIX + 'Selector "Weights.Passing.Deep" is not valid');
  assert.equal(rejects("Name.Sub.Deeper == 1"), PREFIX + 'Selector "Name.Sub" is not valid');
  assert.equal(rejects("constructor == 1"), PREFIX + 'Selector "constructor" is not valid');
  assert.equal(rejects('"x" in Weights.Passing or Nope == 1'), PREFIX + 'Invalid match operator "In" for selector "Weights.Passing"');
});

void test("filter validation - regexp must compile", () => {
  assert.match(rejects('Name matches "("'), /^Failed to create boolean expression evaluator: Failed to compile regular expression "\(": error parsing regexp: /);
});

void test("filter compile - blank expression is always true; predicate is reusable", () => {
  assert.equal(compileFilter("", { schema })({}), true);
  assert.equal(compileFilter("  \t\n", { schema })(null), true);
  const predicate = compileFilter('"v1" in Tags', { schema });
  assert.deepEqual([web, empty, bare, web].map(predicate), [true, false, false, true]);
});

void test("filter evaluation - non-object items are treated as all-zero values", () => {
  const predicate = compileFilter('Name == "" and Port == 0 and Tags is empty', { schema });
  assert.equal(predicate(null), true);
  assert.equal(predicate(undefined), true);
  assert.equal(predicate("string item"), true);
});
