import { test } from "node:test";
import assert from "node:assert/strict";
import { CHECKS_PER_STEP, decodeCatalogRegistration, decodeChecksInSteps } from "../../../src/decode/catalog-registration.ts";
import type { JsonObject } from "../../../src/decode/json-body.ts";

// A registration at the body cap carries ~6,700 checks. They are decoded in steps of
// CHECKS_PER_STEP (runSliced packs as many steps into a turn as its budget allows), and each
// parsed check leaves the list as it is decoded, so the parse tree dies check by check instead
// of surviving every scavenge until the last one is decoded (issue 12 item 6).

function bodies(n: number): JsonObject[] {
  return Array.from({ length: n }, (_, i) => ({ CheckID: `check-${i}`, Name: `check ${i}`, Status: "passing", Output: "ok" }));
}

test("catalog checks in steps - CHECKS_PER_STEP checks per step, each parsed check released once decoded", () => {
  const list = bodies(1000);
  const originals = [...list];
  const work = decodeChecksInSteps(list, "big");
  let steps = 0;
  for (;;) {
    const step = work.next();
    steps++;
    const released = list.filter((b, i) => b !== originals[i]).length;
    if (step.done === true) {
      assert.equal(released, 1000);
      assert.equal(step.value.length, 1000);
      assert.deepEqual(
        step.value.map((c) => [c.CheckID, c.Name, c.Node, c.Status]),
        originals.map((_, i) => [`check-${i}`, `check ${i}`, "big", "passing"]),
      );
      break;
    }
    assert.equal(released, steps * CHECKS_PER_STEP, `after step ${steps}`);
  }
  assert.equal(steps, Math.ceil(1000 / CHECKS_PER_STEP));
});

test("catalog checks in steps - a wide registration body decodes to the same command as checks decoded one by one", async () => {
  const checks = bodies(700);
  const body = Buffer.from(JSON.stringify({ Node: "big", Address: "10.0.0.1", Checks: checks }));
  const wide = await decodeCatalogRegistration(body, "dc1");
  const oneByOne = await Promise.all(
    checks.map(async (c) => (await decodeCatalogRegistration(Buffer.from(JSON.stringify({ Node: "big", Address: "10.0.0.1", Checks: [c] })), "dc1")).Checks[0]),
  );
  assert.deepEqual(wide.Checks, oneByOne);
  assert.equal(wide.Node.Node, "big");
});
