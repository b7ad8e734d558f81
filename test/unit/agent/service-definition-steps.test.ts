import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeServiceDefinition, decodeServiceDefinitionSteps } from "../../../src/agent/service-definition.ts";
import { runCounted } from "../../support/sliced-work.ts";

// PUT /v1/agent/service/register decodes the definition as work that pauses after each check
// (issue 12 item 6): a body near the 512 KiB cap holds ~5,000 checks, ~40 fields read from
// each, tens of ms in one turn. Pauses are counted, not timed.

const N = 2000;

const body = () => ({
  Name: "web",
  Port: 8080,
  Tags: ["a"],
  Check: { TTL: "30s", Name: "single" },
  Checks: Array.from({ length: N }, (_, i) => ({ CheckID: `c-${i}`, Name: `check ${i}`, TTL: "600s", notes: "n" })),
  Connect: { SidecarService: { Port: 21000, Checks: [{ TTL: "10s" }, { TTL: "20s" }] } },
});

void test("service definition decode - pauses after every check and decodes as the one-turn path", () => {
  const { value, pauses } = runCounted(decodeServiceDefinitionSteps(body()));
  assert.ok(pauses >= N, `${pauses} pauses for ${N} checks`);
  assert.deepEqual(value, decodeServiceDefinition(body()));
  assert.equal(value.checks.length, N + 1);
  assert.equal(value.checks[N].id, `c-${N - 1}`);
  assert.equal(value.checks[N].notes, "n");
  assert.equal(value.sidecar?.checks.length, 2);
});

void test("service definition decode - a bad field before the checks is refused before a bad check, as before", () => {
  const bad = { ...body(), Port: "eighty", Checks: [{ TTL: 5 }] } as Record<string, unknown>;
  assert.throws(() => runCounted(decodeServiceDefinitionSteps(bad)), /Port/);
  assert.throws(() => decodeServiceDefinition(bad), /Port/);
});
