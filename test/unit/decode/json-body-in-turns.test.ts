import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJsonBodyWhole, parseJsonBodyInTurns } from "../../../src/decode/json-body.ts";

// A large body is parsed over several turns (issue 12 item 6) and must decode and fail exactly
// as the one-turn parse does.

const large = (inner: string): Buffer => Buffer.from(`{"Pad":"${"x".repeat(70_000)}","Value":${inner}}`);

async function outcome(parse: () => unknown): Promise<unknown> {
  try {
    return { value: await parse() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

test("json body in turns - large and small bodies decode and fail exactly as the whole parse", async () => {
  const bodies: (Buffer | undefined)[] = [
    undefined,
    Buffer.from(""),
    Buffer.from("  "),
    Buffer.from('{"a":1}'),
    large('{"b":[1,2,3]}'),
    large("[1,2"),
    large(`${"[".repeat(600)}${"]".repeat(600)}`),
    Buffer.from(" ".repeat(70_000)),
  ];
  for (const body of bodies) {
    for (const optional of [false, true]) {
      const inTurns = await outcome(() => parseJsonBodyInTurns(body, { optional }));
      const whole = await outcome(() => parseJsonBodyWhole(body, { optional }));
      assert.deepEqual(inTurns, whole, `body of ${body?.length ?? "no"} bytes, optional=${optional}`);
    }
  }
});

test("json body in turns - a large body yields to the event loop before it is parsed", async () => {
  let ranBetween = false;
  setImmediate(() => (ranBetween = true));
  const parsed = (await parseJsonBodyInTurns(large("7"))) as { Value: number };
  assert.equal(parsed.Value, 7);
  assert.equal(ranBetween, true);
});

test("json body in turns - a body kept for its handler is parsed once, and handed over once", async () => {
  const body = large('{"b":[1,2,3]}');
  const first = await parseJsonBodyInTurns(body, { keepForHandler: true });
  const handlers = await parseJsonBodyInTurns(body);
  assert.equal(handlers, first);
  // Taken out: nothing keeps the parsed tree alive for as long as the request's Buffer.
  const again = await parseJsonBodyInTurns(body);
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
  // Without keepForHandler nothing is kept.
  const other = large("[4]");
  assert.notEqual(await parseJsonBodyInTurns(other), await parseJsonBodyInTurns(other));
});
