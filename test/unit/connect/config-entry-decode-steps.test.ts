import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigEntryError, decodeConfigEntry, decodeConfigEntrySteps, type DecodeContext } from "../../../src/connect/config-entry-decode.ts";
import { runCounted } from "../../support/sliced-work.ts";

// PUT /v1/config decodes an entry as work that pauses between the elements of its lists and
// maps (issue 12 item 6): an entry near the 512 KiB body cap holds ~12,000 sources or upstream
// overrides, and its walk held the loop for tens of ms in one turn. The pauses are counted,
// not timed: a walk that pauses at least once per element cannot spend more than one
// element's work between two pauses.

const ctx: DecodeContext = { protocolOf: () => "http" };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const N = 3000;

const intentions = () => ({ Kind: "service-intentions", Name: "db", Sources: range(N).map((i) => ({ Name: `src-${i}`, Action: i % 2 === 0 ? "allow" : "deny" })) });
const defaults = () => ({
  Kind: "service-defaults",
  name: "web",
  Protocol: "HTTP",
  upstream_config: { Overrides: range(N).map((i) => ({ Name: `up-${i}`, connect_timeout_ms: 100 + i })) },
  Meta: Object.fromEntries(range(N).map((i) => [`k${i}`, `v${i}`])),
});

void test("config entry decode - a service-intentions entry pauses after every source and decodes as the one-turn path", () => {
  const { value, pauses } = runCounted(decodeConfigEntrySteps(intentions(), ctx));
  assert.ok(pauses >= N, `${pauses} pauses for ${N} sources`);
  assert.deepEqual(value, decodeConfigEntry(intentions(), ctx));
  assert.equal((value.Sources as unknown[]).length, N);
});

void test("config entry decode - a shaped entry pauses inside its lists and maps and decodes as the one-turn path", () => {
  const { value, pauses } = runCounted(decodeConfigEntrySteps(defaults(), ctx));
  // One pause per override and per Meta member.
  assert.ok(pauses >= 2 * N, `${pauses} pauses for ${N} overrides and ${N} Meta members`);
  assert.deepEqual(value, decodeConfigEntry(defaults(), ctx));
  const overrides = (value.UpstreamConfig as { Overrides: { Name: string; ConnectTimeoutMs: number }[] }).Overrides;
  assert.deepEqual(overrides[N - 1], { Name: `up-${N - 1}`, ConnectTimeoutMs: 100 + N - 1 });
  assert.equal(value.Protocol, "http");
});

void test("config entry decode - an invalid element late in a long list is refused with the same message either way", () => {
  const bad = intentions();
  (bad.Sources[N - 1] as Record<string, unknown>).Bogus = 1;
  const whole = (() => {
    try {
      decodeConfigEntry(bad, ctx);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(whole instanceof ConfigEntryError);
  assert.throws(() => runCounted(decodeConfigEntrySteps(bad, ctx)), { message: whole.message });
  assert.match(whole.message, new RegExp(`Sources\\[${N - 1}\\]\\.invalid config key "Bogus"`));
});
