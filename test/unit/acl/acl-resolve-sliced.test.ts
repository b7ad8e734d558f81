import { test } from "node:test";
import assert from "node:assert/strict";
import { Authorizer, denyAllRules, type Operation } from "../../../src/acl/authorizer.ts";
import { PolicyAuthorizer } from "../../../src/acl/policy-authorizer.ts";
import { compileAuthorizerSteps, RulesCache } from "../../../src/acl/resolve.ts";
import { parseRules, RULES_PER_STEP } from "../../../src/acl/rules.ts";
import { AclService } from "../../../src/acl/service.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { AclTokenFields } from "../../../src/model/acl.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import type { SlicedWork } from "../../../src/runtime/sliced-work.ts";
import { StateStore } from "../../../src/state/store.ts";
import { manualClock } from "../agent/fake-clock.ts";
import { runCounted } from "../../support/sliced-work.ts";

// Issue 12 item 6: the first request with a token whose policy is a 512 KiB Rules text compiled
// the whole policy (~15,000 rules) in one turn. Token resolution now compiles in slices on the
// request path; these tests count the pauses (never time) and check the sliced authorizer
// decides exactly as the one compiled in one go.

const RULES = 6000;
const SETTINGS = { datacenter: "dc1", defaultPolicy: "deny" as const, downPolicy: "extend-cache", defaultToken: "", minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 };

/** Many rules of several kinds, some for the same names (merged), as a large policy holds. */
function bigRules(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    switch (i % 4) {
      case 0: lines.push(`key_prefix "app/${i}/" { policy = "${i % 8 === 0 ? "write" : "read"}" }`); break;
      case 1: lines.push(`service "svc-${i}" { policy = "write" intentions = "${i % 3 === 0 ? "deny" : "read"}" }`); break;
      case 2: lines.push(`node_prefix "n-${i % 500}" { policy = "read" }`); break;
      default: lines.push(`key "app/${i - 3}/x" { policy = "deny" }`);
    }
  }
  return lines.join("\n");
}

const OTHER_RULES = `key_prefix "" { policy = "read" }\nservice_prefix "svc-1" { policy = "deny" }\noperator = "read"`;

/** Operations and names that reach every kind of rule above, and names no rule names. */
function questions(n: number): [Operation, string][] {
  const out: [Operation, string][] = [["operator:read", ""], ["operator:write", ""], ["service:read-all", ""], ["node:read-all", ""], ["intention:read", "*"], ["service:write-any", ""]];
  for (let i = 0; i < n; i += 7) {
    out.push(["key:read", `app/${i}/x`], ["key:write", `app/${i}/y`], ["key:write-prefix", `app/${i}/`], ["service:write", `svc-${i}`]);
    out.push(["intention:read", `svc-${i}`], ["node:read", `n-${i % 600}`], ["key:read", `other/${i}`]);
  }
  return out;
}

function sameDecisions(a: Authorizer, b: Authorizer): void {
  for (const [op, name] of questions(RULES)) assert.equal(a.decide(op, name), b.decide(op, name), `${op} ${name}`);
}

test("a token's rules compile in steps of RULES_PER_STEP rules, into the authorizer compiled in one go", () => {
  const texts = [bigRules(RULES), OTHER_RULES];
  const whole = new Authorizer("acc", [new PolicyAuthorizer(texts.map(parseRules))], denyAllRules);
  const { pauses: steps, value } = runCounted(compileAuthorizerSteps("acc", texts, SETTINGS, new RulesCache()));
  // Parsing pauses per rule decoded, then the merge and the tree building pause per rule again.
  assert.ok(steps >= Math.floor((3 * RULES) / RULES_PER_STEP), `${steps} steps`);
  assert.equal(value.accessorId, "acc");
  sameDecisions(value, whole);

  // Parsed texts are kept: compiling again only merges (no parse steps).
  const cache = new RulesCache();
  runCounted(compileAuthorizerSteps("acc", texts, SETTINGS, cache));
  const again = runCounted(compileAuthorizerSteps("acc", texts, SETTINGS, cache));
  assert.ok(again.pauses < steps, `${again.pauses} steps with the parse cached, ${steps} without`);
  // The merge alone pauses once per RULES_PER_STEP rules of the policies.
  assert.ok(again.pauses >= Math.floor(RULES / RULES_PER_STEP), `${again.pauses} steps`);
  sameDecisions(again.value, whole);
});

function tokenFields(accessor: string, secret: string, extra: Partial<AclTokenFields> = {}): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: secret, Description: "", Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [],
    TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "", ...extra,
  };
}

test("token resolution waits for a sliced compile, shared by concurrent requests and kept for the next ones", async () => {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let index = 0;
  const apply = (cmd: Parameters<StateMachine["apply"]>[1]) => assert.equal(fsm.apply(++index, cmd).ok, true);
  apply({ Type: "acl-policy-set", Policy: { ID: "p-big", Name: "big", Description: "", Rules: bigRules(RULES), Hash: "" } });
  apply({ Type: "acl-policy-set", Policy: { ID: "p-other", Name: "other", Description: "", Rules: OTHER_RULES, Hash: "" } });
  apply({ Type: "acl-token-set", Token: tokenFields("t1", "s1", { Policies: [{ ID: "p-big", Name: "" }, { ID: "p-other", Name: "" }] }) });

  let runs = 0;
  let steps = 0;
  const runSteps = async <T>(work: SlicedWork<T>): Promise<T> => {
    runs++;
    for (;;) {
      const step = work.next();
      if (step.done === true) return step.value;
      steps++;
      await Promise.resolve();
    }
  };
  const clock = manualClock(Date.parse("2026-01-01T00:00:00Z"));
  const service = new AclService({ tables: state.acl, clock, rng: seededRng(1), settings: SETTINGS, runSteps });

  const first = service.resolveRequest("s1");
  const second = service.resolveRequest("s1");
  assert.ok(first instanceof Promise, "a token not compiled yet is waited for");
  assert.equal(second, first, "concurrent requests share one compilation");
  const authz = await first;
  assert.equal(runs, 1);
  assert.ok(steps >= Math.floor((3 * RULES) / RULES_PER_STEP), `${steps} steps`);
  assert.equal(authz.accessorId, "t1");

  const whole = new AclService({ tables: state.acl, clock, rng: seededRng(1), settings: SETTINGS });
  sameDecisions(authz, whole.resolve("s1"));

  // Kept: the next request answers from memory, in its own turn, with the same authorizer.
  assert.equal(service.resolveRequest("s1"), authz);
  assert.equal(service.resolve("s1"), authz);
  // A write to another token does not recompile this one.
  apply({ Type: "acl-token-set", Token: tokenFields("t2", "s2") });
  assert.equal(service.resolveRequest("s1"), authz);
  assert.equal(runs, 1);

  // An unknown secret is refused at once, not after a compilation.
  assert.throws(() => service.resolveRequest("nope"), { message: "ACL not found" });
  // A changed policy is compiled again (sliced) on the next request.
  apply({ Type: "acl-policy-set", Policy: { ID: "p-other", Name: "other", Description: "", Rules: `operator = "write"`, Hash: "" } });
  const changed = service.resolveRequest("s1");
  assert.ok(changed instanceof Promise);
  assert.equal((await changed).decide("operator:write"), "allow");
  assert.equal(runs, 2);
});
