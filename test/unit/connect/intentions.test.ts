import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigEntryError, decodeConfigEntry, type DecodeContext } from "../../../src/connect/config-entry-decode.ts";
import { intentionPrecedence } from "../../../src/connect/intention-precedence.ts";
import { decide, matchIntentions } from "../../../src/connect/intentions.ts";
import type { ConfigEntry } from "../../../src/model/config-entry.ts";

const tcp: DecodeContext = { protocolOf: () => "tcp" };
const http: DecodeContext = { protocolOf: () => "http" };

function entry(name: string, sources: Record<string, unknown>[], index = 10): ConfigEntry {
  return { ...decodeConfigEntry({ Kind: "service-intentions", Name: name, Sources: sources }, tcp), CreateIndex: index, ModifyIndex: index };
}

const aclOff = { enabled: false, defaultPolicy: "allow" as const };

describe("intention precedence (spec §6.3)", () => {
  it("ranks every namespace/name combination as Consul's table", () => {
    const table: [string, string, string, string, number][] = [
      ["default", "web", "default", "db", 9],
      ["default", "*", "default", "db", 8],
      ["*", "*", "default", "db", 7],
      ["default", "web", "default", "*", 6],
      ["default", "*", "default", "*", 5],
      ["*", "*", "default", "*", 4],
      ["default", "web", "*", "*", 3],
      ["default", "*", "*", "*", 2],
      ["*", "*", "*", "*", 1],
    ];
    for (const [sns, sname, dns, dname, want] of table) {
      assert.equal(intentionPrecedence({ ns: sns, name: sname }, { ns: dns, name: dname }), want, `${sns}/${sname} => ${dns}/${dname}`);
    }
  });

  it("lets the most specific intention decide, whatever order they were written in", () => {
    const entries = [entry("*", [{ Name: "*", Action: "deny" }, { Name: "web", Action: "allow" }]), entry("db", [{ Name: "*", Action: "allow" }, { Name: "web", Action: "deny" }])];
    const cases: [string, string, boolean, string][] = [
      ["web", "db", false, "Matched L4 intention: web => db (Precedence: 9, Action: DENY)"],
      ["api", "db", true, "Matched L4 intention: * => db (Precedence: 8, Action: ALLOW)"],
      ["web", "cache", true, "Matched L4 intention: web => * (Precedence: 6, Action: ALLOW)"],
      ["api", "cache", false, "Matched L4 intention: * => * (Precedence: 5, Action: DENY)"],
    ];
    for (const [src, dst, allowed, reason] of cases) {
      const d = decide(matchIntentions(entries, "destination", dst), src, aclOff);
      assert.deepEqual([d.allowed, d.reason], [allowed, reason], `${src} => ${dst}`);
    }
  });

  it("defaults to allow without ACLs and to the ACL default policy with them; L7 intentions deny at L4", () => {
    assert.deepEqual(decide([], "web", aclOff), { allowed: true, reason: "ACLs disabled, access is allowed by default" });
    assert.deepEqual(decide([], "web", { enabled: true, defaultPolicy: "deny" }), { allowed: false, reason: "Default behavior configured by ACLs" });
    assert.equal(decide([], "web", { enabled: true, defaultPolicy: "allow" }).allowed, true);
    const l7 = { ...decodeConfigEntry({ Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/v1" } }] }] }, http), CreateIndex: 1, ModifyIndex: 1 };
    const d = decide(matchIntentions([l7], "destination", "db"), "web", aclOff);
    assert.deepEqual([d.allowed, d.reason], [false, "Matched L7 intention: web => db (Precedence: 9, Permissions: 1)"]);
  });
});

describe("service-intentions validation", () => {
  const bad = (raw: Record<string, unknown>, message: RegExp, ctx: DecodeContext = tcp): void => {
    assert.throws(() => decodeConfigEntry(raw, ctx), (err: unknown) => err instanceof ConfigEntryError && message.test(err.message));
  };
  it("refuses malformed entries with Consul's messages", () => {
    const k = { Kind: "service-intentions" };
    bad({ ...k, Name: "" }, /^Name is required$/);
    bad({ ...k, Name: "db*" }, /wildcard character '\*' cannot be used with partial values/);
    bad({ ...k, Name: "db", Sources: [{ Name: "web" }] }, /Sources\[0\]\.Action must be set to 'allow' or 'deny'/);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Action: "allow" }, { Name: "web", Action: "deny" }] }, /Sources\[1\] defines "web" more than once/);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Action: "allow", Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/" } }] }] }, /Action must be omitted if Permissions are specified/, http);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "allow" }] }] }, /Permissions\[0\]\.HTTP is required/, http);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { PathExact: "x" } }] }] }, /PathExact doesn't start with '\/'/, http);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { PathExact: "/a", PathPrefix: "/b" } }] }] }, /at most one of PathExact, PathPrefix, or PathRegex/, http);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { Methods: ["GET", "GET"] } }] }] }, /contains "GET" more than once/, http);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/" } }] }] }, /protocol "tcp"/);
    bad({ ...k, Name: "db", Sources: [{ Name: "web", Action: "allow", LegacyID: "x" }] }, /LegacyID must be omitted/);
    bad({ ...k, Name: "db", Bogus: 1 }, /invalid config key "Bogus"/);
    bad({ Kind: "nope", Name: "x" }, /^invalid config entry kind: nope$/);
    bad({ Kind: "proxy-defaults", Name: "x" }, /only "global" is supported/);
  });

  it("stores sources sorted by precedence with Type and Precedence filled in, snake_case accepted", () => {
    const e = decodeConfigEntry({ kind: "service-intentions", name: "db", sources: [{ name: "*", action: "deny" }, { name: "web", action: "allow", description: "ok" }] }, tcp);
    assert.deepEqual(e, {
      Kind: "service-intentions",
      Name: "db",
      Sources: [
        { Name: "web", Action: "allow", Precedence: 9, Type: "consul", Description: "ok" },
        { Name: "*", Action: "deny", Precedence: 8, Type: "consul" },
      ],
    });
  });
});
