import { test } from "node:test";
import assert from "node:assert/strict";
import { LARGE_BODY_BYTES } from "../../../src/decode/json-body.ts";
import { PARSE_CHARS_PER_PAUSE } from "../../../src/decode/json-in-slices.ts";
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from "../../../src/http/request-body-limit.ts";
import { DEFAULT_SLICE_MS } from "../../../src/runtime/sliced-work.ts";
import { startTestAgent } from "../../support/test-agent.ts";

// Issue 12 item 6: every endpoint taking a JSON body decodes it through one seam
// (parseJsonBodyInTurns), which parses a large body in pieces over several turns. Checked
// without timing where it can be: JSON.parse is watched in this process (the agent runs here),
// so a body parsed whole shows up as one call on its whole text.

const ROOT = "11111111-aaaa-bbbb-cccc-222222222222";

/** Every endpoint with a JSON body that had its own whole parse before the seam. */
const ENDPOINTS: [method: string, path: string, fields: Record<string, unknown>][] = [
  ["PUT", "/v1/acl/token", { Description: "big" }],
  ["PUT", "/v1/acl/policy", { Name: "big-policy", Rules: "" }],
  ["PUT", "/v1/acl/role", { Name: "big-role" }],
  ["PUT", "/v1/agent/token/default", { Token: "" }],
  ["PUT", "/v1/config", { Kind: "service-defaults", Name: "big" }],
  ["PUT", "/v1/session/create", { Name: "big" }],
  ["POST", "/v1/query", { Name: "big", Service: { Service: "web" } }],
  ["POST", "/v1/connect/intentions", { SourceName: "a", DestinationName: "b", Action: "allow" }],
  ["PUT", "/v1/coordinate/update", { Node: "test-node" }],
  ["POST", "/v1/operator/keyring", { Key: "" }],
  ["PUT", "/v1/operator/autopilot/configuration", { CleanupDeadServers: true }],
  ["PUT", "/v1/catalog/deregister", { Node: "nobody" }],
  ["POST", "/v1/discovery-chain/web", {}],
  ["PUT", "/v1/connect/ca/configuration", { Provider: "consul" }],
  ["POST", "/v1/agent/connect/authorize", { Target: "web" }],
];

/** `fields` plus a wide padding member of small objects, `bytes` long or a little longer. */
function paddedBody(fields: Record<string, unknown>, bytes: number): string {
  const row = (i: number): string => `{"i":${i},"s":"padding row ${i}"}`;
  const rows: string[] = [];
  let size = JSON.stringify(fields).length + 16;
  for (let i = 0; size < bytes; i++) {
    const r = row(i);
    rows.push(r);
    size += r.length + 1;
  }
  const head = JSON.stringify(fields).slice(0, -1);
  return `${head}${head.length > 1 ? "," : ""}"Pad":[${rows.join(",")}]}`;
}

interface ParseCall {
  chars: number;
  turn: number;
  at: number;
}

/** Records every JSON.parse call in this process and the event-loop turn it ran in. */
function watchJsonParse(): { calls: ParseCall[]; stop(): void } {
  const original = JSON.parse;
  const calls: ParseCall[] = [];
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  JSON.parse = function watched(this: unknown, text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown): unknown {
    calls.push({ chars: text.length, turn, at: performance.now() });
    return original.call(JSON, text, reviver) as unknown;
  } as typeof JSON.parse;
  return {
    calls,
    stop: () => {
      ticking = false;
      JSON.parse = original;
    },
  };
}

test("json body seam - a large body on every JSON endpoint is parsed in pieces, over several turns", async () => {
  const agent = await startTestAgent({ devMode: true }, { acl: { defaultPolicy: "allow", initialManagement: ROOT } });
  try {
    for (const [method, path, fields] of ENDPOINTS) {
      const body = paddedBody(fields, 300 * 1024);
      const watch = watchJsonParse();
      let status: number;
      try {
        const res = await fetch(`${agent.base}${path}`, { method, body, headers: { "X-Consul-Token": ROOT } });
        status = res.status;
        await res.arrayBuffer();
      } finally {
        watch.stop();
      }
      // The body reached its handler (a 413 or 404 would mean it was refused before decoding).
      assert.ok(status !== 413 && status !== 404 && status !== 405, `${method} ${path}: ${status}`);
      const pieces = watch.calls.filter((c) => c.chars < LARGE_BODY_BYTES);
      const whole = watch.calls.filter((c) => c.chars >= LARGE_BODY_BYTES);
      assert.deepEqual(whole.map((c) => c.chars), [], `${method} ${path}: parsed whole`);
      assert.ok(pieces.length > 100, `${method} ${path}: ${pieces.length} pieces`);
      // Pieces of one parse run in slices of DEFAULT_SLICE_MS, the clock read at each pause: a
      // parse that was still going two slices after its first piece must have let the loop turn
      // at its next pause. Measured to a piece with more than a pause's worth of text after it,
      // not to the last piece: a machine that stalls this process inside the final stretch
      // (no pause follows it) makes that stretch long without any turn being owed.
      const first = pieces[0];
      const last = pieces[pieces.length - 1];
      let charsAfter = 0;
      let probe = pieces.length - 1;
      while (probe > 0 && charsAfter <= 2 * PARSE_CHARS_PER_PAUSE) charsAfter += pieces[probe--].chars;
      const spanMs = pieces[probe].at - first.at;
      if (spanMs > 2 * DEFAULT_SLICE_MS) assert.ok(last.turn > first.turn, `${method} ${path}: ${spanMs.toFixed(1)} ms in one turn`);
    }
  } finally {
    await agent.stop();
  }
});

test("json body seam - small bodies are parsed whole, at once", async () => {
  const agent = await startTestAgent();
  try {
    const watch = watchJsonParse();
    try {
      const res = await fetch(`${agent.base}/v1/session/create`, { method: "PUT", body: JSON.stringify({ Name: "small" }) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      watch.stop();
    }
    assert.ok(watch.calls.some((c) => c.chars === JSON.stringify({ Name: "small" }).length));
  } finally {
    await agent.stop();
  }
});

test("json body seam - bodies over the cap are 413, malformed large ones 400 with the endpoint's prefix", async () => {
  const agent = await startTestAgent({ devMode: true }, { acl: { defaultPolicy: "allow", initialManagement: ROOT } });
  try {
    for (const [method, path] of ENDPOINTS) {
      const res = await fetch(`${agent.base}${path}`, { method, body: Buffer.alloc(DEFAULT_MAX_REQUEST_BODY_BYTES + 1, 0x20), headers: { "X-Consul-Token": ROOT } });
      assert.equal(res.status, 413, `${method} ${path}`);
      assert.equal(await res.text(), `Request body(${DEFAULT_MAX_REQUEST_BODY_BYTES + 1} bytes) too large, max size: ${DEFAULT_MAX_REQUEST_BODY_BYTES} bytes.`);
    }
    // Cut short: the sliced parse refuses it and the whole parse names the error, as before.
    const truncated = paddedBody({ Name: "p" }, 200 * 1024).slice(0, -2);
    const policy = await fetch(`${agent.base}/v1/acl/policy`, { method: "PUT", body: truncated, headers: { "X-Consul-Token": ROOT } });
    assert.equal(policy.status, 400);
    assert.match(await policy.text(), /^Policy decoding failed: /);
    const session = await fetch(`${agent.base}/v1/session/create`, { method: "PUT", body: truncated });
    assert.equal(session.status, 400);
    assert.match(await session.text(), /^Request decode failed: /);
  } finally {
    await agent.stop();
  }
});
