import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilter, FilterError } from "../../../src/filter/filter.ts";

const entry = {
  Node: { Node: "n1", Address: "10.0.0.1", Meta: { rack: "r1" } },
  Service: { Service: "web", Port: 8080, Big: 9007199254740993n, Tags: ["v1", "blue"], Meta: { env: "prod" }, Enabled: true, Ratio: 0.25 },
  Checks: [{ Status: "passing", ServiceTags: ["v1"] }, { Status: "critical", ServiceTags: [] }],
  Empty: "",
  Nothing: null,
};

const check = (expression: string, item: unknown = entry): boolean => compileFilter(expression)(item);

void test("filter without schema - strings, numbers, bools coerced to the runtime type", () => {
  assert.equal(check('Service.Service == "web"'), true);
  assert.equal(check("Service.Service == web"), true);
  assert.equal(check("Service.Port == 8080"), true);
  assert.equal(check('Service.Port == "8080"'), true);
  assert.equal(check("Service.Port != 80"), true);
  assert.equal(check("Service.Port == abc"), false, "uncoercible literal is simply unequal");
  assert.equal(check('Service.Big == "9007199254740993"'), true, "bigint compared exactly");
  assert.equal(check("Service.Enabled == true"), true);
  assert.equal(check("Service.Enabled == T"), true);
  assert.equal(check("Service.Enabled == false"), false);
  assert.equal(check("Service.Ratio == 0.25"), true);
});

void test("filter without schema - in, contains, is empty, matches by runtime shape", () => {
  assert.equal(check('"v1" in Service.Tags'), true);
  assert.equal(check('"v" in Service.Tags'), false);
  assert.equal(check('"eb" in Service.Service'), true, "substring on strings");
  assert.equal(check('"env" in Service.Meta'), true, "key presence on objects");
  assert.equal(check('Service.Tags contains "blue"'), true);
  assert.equal(check('"x" not in Service.Tags'), true);
  assert.equal(check("Service.Tags is not empty"), true);
  assert.equal(check("Empty is empty"), true);
  assert.equal(check("Service.Meta is empty"), false);
  assert.equal(check('Service.Service matches "^w"'), true);
  assert.equal(check('Service.Port matches "80"'), false, "matches needs a string");
  assert.equal(check('Node.Meta["rack"] == r1'), true);
});

void test("filter without schema - missing or null values are absent", () => {
  assert.equal(check('Service.Meta.zone == ""'), false);
  assert.equal(check('Service.Meta.zone != "a"'), true);
  assert.equal(check('Nothing == ""'), false);
  assert.equal(check("Nothing is empty"), true);
  assert.equal(check("Nothing is not empty"), false);
  assert.equal(check('"a" not in Nothing'), true);
  assert.equal(check("Missing.Deep.Path == 1"), false);
  assert.equal(check("Missing.Deep.Path != 1"), true);
  assert.equal(check('Service.Service.Deeper == "x"'), false, "cannot select into a string");
  assert.equal(check('Service.Meta["__proto__"] == ""'), false);
  assert.equal(check('"__proto__" in Service.Meta'), false);
  assert.equal(check('"constructor" in Service.Meta'), false);
});

void test("filter without schema - implicit ANY over arrays", () => {
  assert.equal(check("Checks.Status == critical"), true);
  assert.equal(check("Checks.Status != passing"), true);
  assert.equal(check("not Checks.Status != passing"), false);
  assert.equal(check('"v1" in Checks.ServiceTags'), true);
  assert.equal(check("Checks.ServiceTags is empty"), true);
  assert.equal(check("Checks.Status == passing", { Checks: [] }), false);
});

void test("filter without schema - syntax and regexp errors still fail at compile time", () => {
  assert.throws(() => compileFilter("Service.Port =="), FilterError);
  assert.throws(() => compileFilter('Service.Service matches "[a-"'), (error: unknown) =>
    error instanceof FilterError && error.message.startsWith('Failed to create boolean expression evaluator: Failed to compile regular expression "[a-"'));
  assert.equal(compileFilter("   ")(undefined), true);
});
