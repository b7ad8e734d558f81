import { test } from "node:test";
import assert from "node:assert/strict";
import { formatGoDuration, parseDurationField, parseGoDuration } from "../../../src/model/duration.ts";

test("duration - parses Go duration strings (http-core §12)", () => {
  assert.equal(parseGoDuration("10s"), 10_000);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("500ms"), 500);
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
  assert.equal(parseGoDuration("2h45m"), 9_900_000);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("300000ms"), 300_000);
  assert.equal(parseGoDuration("1us"), 0.001);
  assert.equal(parseGoDuration("-5s"), -5000);
});

test("duration - empty, unitless and day units are errors", () => {
  assert.throws(() => parseGoDuration(""));
  assert.throws(() => parseGoDuration("10"), /missing unit/);
  assert.throws(() => parseGoDuration("1d"));
  assert.throws(() => parseGoDuration("abc"));
});

test("duration - JSON numbers are nanoseconds", () => {
  assert.equal(parseDurationField(10_000_000_000), 10_000);
  assert.equal(parseDurationField("15s"), 15_000);
});

test("duration - formats like Go's Duration.String()", () => {
  assert.equal(formatGoDuration(0), "0s");
  assert.equal(formatGoDuration(90_000), "1m30s");
  assert.equal(formatGoDuration(3_600_000), "1h0m0s");
  assert.equal(formatGoDuration(1500), "1.5s");
  assert.equal(formatGoDuration(500), "500ms");
  assert.equal(formatGoDuration(0.002), "2µs");
  assert.equal(formatGoDuration(10_000), "10s");
});
