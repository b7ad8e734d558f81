import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startDevAgent, type DevAgent } from "../../../src/mod.ts";
import { callAgent, type Reply } from "../../support/http-reply.ts";

describe("config entries, intentions and authorize over HTTP (dev agent)", () => {
  let agent: DevAgent;
  const call = (method: string, path: string, body?: unknown): Promise<Reply> => callAgent(agent.httpAddress, method, path, body);
  const authorize = async (target: string, source: string): Promise<{ Authorized: boolean; Reason: string }> => {
    const r = await call("POST", "/v1/agent/connect/authorize", { Target: target, ClientCertURI: `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/${source}` });
    assert.equal(r.status, 200, r.text);
    return r.body as { Authorized: boolean; Reason: string };
  };

  before(async () => {
    agent = await startDevAgent({ dnsPort: -1 });
  });
  after(async () => {
    await agent.stop();
  });

  it("writes, reads, lists, cas-writes and deletes config entries as Consul's /v1/config", async () => {
    const put = await call("PUT", "/v1/config", { Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "allow" }] });
    assert.deepEqual([put.status, put.body], [200, true]);
    const got = await call("GET", "/v1/config/service-intentions/db");
    assert.equal(got.status, 200);
    const entry = got.body as { ModifyIndex: number; CreateIndex: number; Sources: unknown[] };
    assert.deepEqual(entry.Sources, [{ Name: "web", Action: "allow", Precedence: 9, Type: "consul" }]);
    assert.equal(got.index, entry.ModifyIndex);
    const listed = await call("GET", "/v1/config/service-intentions");
    assert.equal((listed.body as unknown[]).length, 1);

    // CAS: a stale index loses, the current one wins; 0 only creates.
    assert.equal((await call("PUT", `/v1/config?cas=${entry.ModifyIndex - 1}`, { Kind: "service-intentions", Name: "db", Sources: [] })).body, false);
    assert.equal((await call("PUT", "/v1/config?cas=0", { Kind: "service-intentions", Name: "db", Sources: [] })).body, false);
    assert.equal((await call("PUT", `/v1/config?cas=${entry.ModifyIndex}`, { Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "deny" }] })).body, true);

    // Blocking: a read at the current index wakes when the entry changes.
    const current = await call("GET", "/v1/config/service-intentions/db");
    const waiting = call("GET", `/v1/config/service-intentions/db?index=${current.index}&wait=20s`);
    await call("PUT", "/v1/config", { Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "allow" }] });
    const woke = await waiting;
    assert.ok(woke.index > current.index);

    const missing = await call("GET", "/v1/config/service-intentions/nothing");
    assert.deepEqual([missing.status, missing.text], [404, 'Config entry not found for "service-intentions" / "nothing"']);
    const badKind = await call("PUT", "/v1/config", { Kind: "nope", Name: "x" });
    assert.deepEqual([badKind.status, badKind.text], [400, "Request decoding failed: invalid config entry kind: nope"]);
    const invalid = await call("PUT", "/v1/config", { Kind: "service-intentions", Name: "db", Sources: [{ Name: "web" }] });
    assert.equal(invalid.status, 400);
    assert.match(invalid.text, /Sources\[0\]\.Action must be set to 'allow' or 'deny'/);
    assert.equal((await call("GET", "/v1/config/service-intentions/db")).status, 200, "a refused write keeps what is stored");

    const casDelete = await call("DELETE", "/v1/config/service-intentions/db?cas=1");
    assert.deepEqual([casDelete.status, casDelete.body], [200, false]);
    const del = await call("DELETE", "/v1/config/service-intentions/db");
    assert.deepEqual([del.status, del.body], [200, {}]);
    assert.equal((await call("GET", "/v1/config/service-intentions/db")).status, 404);
  });

  it("takes L7 permissions only for an http destination (service-defaults)", async () => {
    const l7 = { Kind: "service-intentions", Name: "api", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/v1", Methods: ["GET"] } }] }] };
    const refused = await call("PUT", "/v1/config", l7);
    assert.equal(refused.status, 400);
    assert.match(refused.text, /protocol "tcp"/);
    assert.equal((await call("PUT", "/v1/config", { Kind: "service-defaults", Name: "api", Protocol: "http" })).body, true);
    assert.equal((await call("PUT", "/v1/config", l7)).body, true);
    const decision = await authorize("api", "web");
    assert.deepEqual(decision, { Authorized: false, Reason: "Matched L7 intention: web => api (Precedence: 9, Permissions: 1)" });
    await call("DELETE", "/v1/config/service-intentions/api");
  });

  it("serves the legacy intentions API over the config entries", async () => {
    const created = await call("POST", "/v1/connect/intentions", { SourceName: "web", DestinationName: "db", Action: "allow", Description: "web may talk to db", Meta: { owner: "team-a" } });
    assert.equal(created.status, 200, created.text);
    const id = (created.body as { ID: string }).ID;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const dup = await call("POST", "/v1/connect/intentions", { SourceName: "web", DestinationName: "db", Action: "deny" });
    assert.equal(dup.status, 500);
    assert.match(dup.text, /duplicate intention found/);

    const got = await call("GET", `/v1/connect/intentions/${id}`);
    const ixn = got.body as Record<string, unknown>;
    assert.equal(ixn.ID, id);
    assert.equal(ixn.SourceName, "web");
    assert.equal(ixn.DestinationName, "db");
    assert.equal(ixn.SourceNS, "default");
    assert.equal(ixn.Action, "allow");
    assert.equal(ixn.Precedence, 9);
    assert.deepEqual(ixn.Meta, { owner: "team-a" });
    assert.match(String(ixn.CreatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // …and the same intention as a config entry source.
    const entry = (await call("GET", "/v1/config/service-intentions/db")).body as { Sources: Record<string, unknown>[] };
    assert.equal(entry.Sources[0].LegacyID, id);

    assert.equal((await call("PUT", `/v1/connect/intentions/${id}`, { SourceName: "web", DestinationName: "db", Action: "deny" })).body, true);
    assert.equal(((await call("GET", `/v1/connect/intentions/${id}`)).body as { Action: string }).Action, "deny");
    assert.equal((await authorize("db", "web")).Authorized, false);

    assert.equal((await call("PUT", "/v1/connect/intentions/exact?source=*&destination=db", { SourceType: "consul", Action: "allow" })).body, true);
    const exact = await call("GET", "/v1/connect/intentions/exact?source=*&destination=db");
    assert.deepEqual([(exact.body as { ID: string }).ID, (exact.body as { Precedence: number }).Precedence], ["", 8]);
    assert.equal((await call("GET", "/v1/connect/intentions/exact?source=api&destination=db")).status, 404);

    const matched = (await call("GET", "/v1/connect/intentions/match?by=destination&name=db")).body as Record<string, { SourceName: string }[]>;
    assert.deepEqual(matched.db.map((i) => i.SourceName), ["web", "*"]);
    const bySource = (await call("GET", "/v1/connect/intentions/match?by=source&name=api")).body as Record<string, { DestinationName: string }[]>;
    assert.deepEqual(bySource.api.map((i) => i.DestinationName), ["db"]);
    assert.deepEqual((await call("GET", "/v1/connect/intentions/check?source=web&destination=db")).body, { Allowed: false });
    assert.deepEqual((await call("GET", "/v1/connect/intentions/check?source=api&destination=db")).body, { Allowed: true });
    assert.equal(((await call("GET", "/v1/connect/intentions")).body as unknown[]).length, 2);

    assert.deepEqual(await authorize("db", "api"), { Authorized: true, Reason: "Matched L4 intention: * => db (Precedence: 8, Action: ALLOW)" });
    assert.deepEqual(await authorize("other", "api"), { Authorized: true, Reason: "ACLs disabled, access is allowed by default" });

    assert.equal((await call("DELETE", `/v1/connect/intentions/${id}`)).body, true);
    assert.equal((await call("GET", `/v1/connect/intentions/${id}`)).status, 404);
    assert.equal((await call("DELETE", "/v1/connect/intentions/exact?source=*&destination=db")).body, true);
    assert.equal((await call("GET", "/v1/config/service-intentions/db")).status, 404, "an entry left without sources is deleted");
  });

  it("refuses malformed authorize requests as Consul does", async () => {
    const noTarget = await call("POST", "/v1/agent/connect/authorize", { ClientCertURI: "spiffe://x.consul/ns/default/dc/dc1/svc/web" });
    assert.deepEqual([noTarget.status, noTarget.text], [400, "Target service must be specified"]);
    const badUri = await call("POST", "/v1/agent/connect/authorize", { Target: "db", ClientCertURI: "not-a-uri" });
    assert.deepEqual([badUri.status, badUri.text], [400, "ClientCertURI not a valid Connect identifier"]);
    const agentUri = await call("POST", "/v1/agent/connect/authorize", { Target: "db", ClientCertURI: "spiffe://x.consul/agent/client/dc/dc1/id/abc" });
    assert.deepEqual([agentUri.status, agentUri.text], [400, "ClientCertURI not a valid Service identifier"]);
  });
});
