import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  buildNewToken, buildNewTokenSteps, buildRole, buildRoleSteps, LINKS_PER_STEP, type RoleInput, type TokenInput, type WriterContext,
} from "../../../src/acl/object-writers.ts";
import { decodeRoleSteps, decodeTokenSteps } from "../../../src/http/handlers/acl-decode.ts";
import { AclTables } from "../../../src/state/acl-tables.ts";
import { WatchHub } from "../../../src/state/watch.ts";
import { runWhole } from "../../../src/runtime/sliced-work.ts";
import { runCounted } from "../../support/sliced-work.ts";

// Issue 12 item 6: a role or token body near the 512 KiB cap (~15k service identities) was
// decoded and checked in one ~40 ms turn. Decode and build are sliced work now; these tests
// count their pauses (never time) and check the sliced answers equal the whole ones.

const COUNT = 5000;

function writer(): WriterContext {
  return { tables: new AclTables(new WatchHub()), nowMs: Date.UTC(2026, 0, 1), uuid: randomUUID, minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 };
}

const identities = (n: number, last = "svc-last") => Array.from({ length: n }, (_, i) => ({ ServiceName: i === n - 1 ? last : `svc-${i}` }));

function roleInput(n: number, last?: string): RoleInput {
  return { ID: "", Name: "big", Description: "", Policies: [], ServiceIdentities: identities(n, last), NodeIdentities: [], TemplatedPolicies: [] };
}

test("a role decodes in steps of LINKS_PER_STEP identities", () => {
  const { pauses: steps, value } = runCounted(decodeRoleSteps({ Name: "big", ServiceIdentities: identities(COUNT) }));
  assert.ok(steps >= Math.floor(COUNT / LINKS_PER_STEP), `${steps} steps`);
  assert.equal(value.ServiceIdentities.length, COUNT);
  assert.deepEqual(value.ServiceIdentities[COUNT - 1], { ServiceName: "svc-last" });
});

test("a token decodes in steps too, and a non-object element is refused before any is decoded", () => {
  const { pauses: steps, value } = runCounted(decodeTokenSteps({ ServiceIdentities: identities(COUNT) }));
  assert.ok(steps >= Math.floor(COUNT / LINKS_PER_STEP), `${steps} steps`);
  assert.equal(value.ServiceIdentities.length, COUNT);
  assert.throws(
    () => runWhole(decodeTokenSteps({ ServiceIdentities: [{ ServiceName: 1 }, ...identities(COUNT), "x"] })),
    /Token decoding failed: json: cannot unmarshal string into Go struct field \.ServiceIdentities/,
  );
});

test("a role with many identities is built in steps; the result equals the whole build's", () => {
  const input = roleInput(COUNT);
  const w = writer();
  const uuid = randomUUID();
  const sliced = runCounted(buildRoleSteps({ ...w, uuid: () => uuid }, input));
  // Each identity is checked once, emitted once and hashed once (plus name and description).
  const minSteps = Math.floor((3 * COUNT) / LINKS_PER_STEP) - 2;
  assert.ok(sliced.pauses >= minSteps, `${sliced.pauses} steps, expected at least ${minSteps}`);
  assert.deepEqual(sliced.value, buildRole({ ...w, uuid: () => uuid }, input));
});

test("a role's checks keep Consul's order: the name first, then each identity", () => {
  const w = writer();
  assert.throws(() => runWhole(buildRoleSteps(w, { ...roleInput(COUNT, "Bad Name"), Name: "" })), /Invalid Role: no Name is set/);
  assert.throws(
    () => runWhole(buildRoleSteps(w, roleInput(COUNT, "Bad Name"))),
    /Service identity "Bad Name" has an invalid name\. Only lowercase alphanumeric characters, '-' and '_' are allowed/,
  );
});

test("a token with many identities is built in steps; the result equals the whole build's", () => {
  const input: TokenInput = {
    AccessorID: randomUUID(), SecretID: randomUUID(), Description: "big", Policies: [], Roles: [], ServiceIdentities: identities(COUNT),
    NodeIdentities: [], TemplatedPolicies: [], Local: false, AuthMethod: "", ExpirationTime: "", ExpirationTtlMs: 0,
  };
  const w = writer();
  const sliced = runCounted(buildNewTokenSteps(w, input));
  const minSteps = Math.floor((3 * COUNT) / LINKS_PER_STEP) - 2;
  assert.ok(sliced.pauses >= minSteps, `${sliced.pauses} steps, expected at least ${minSteps}`);
  assert.deepEqual(sliced.value, buildNewToken(w, input));
});
