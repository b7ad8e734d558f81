import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startDevAgent, type DevAgent } from "../../../src/mod.ts";
import { callAgent, type Reply } from "../../support/http-reply.ts";
import { askUdp, dataOf } from "../../integration/dns-support.ts";

// The config-entry half of issue 15 against a dev agent's real HTTP and DNS sockets.
describe("gateway, discovery-chain and mesh config entries (dev agent)", () => {
  let agent: DevAgent;
  const call = (method: string, path: string, body?: unknown): Promise<Reply> => callAgent(agent.httpAddress, method, path, body);
  const put = (entry: Record<string, unknown>, query = ""): Promise<Reply> => call("PUT", `/v1/config${query}`, entry);

  before(async () => {
    agent = await startDevAgent({ dnsPort: 0 });
  });
  after(async () => {
    await agent.stop();
  });

  it("validates each kind with Consul's messages and refuses unknown keys", async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ Kind: "service-resolver", Name: "web", Bogus: 1 }, 400, `Request decoding failed: invalid config key "Bogus"`],
      [{ Kind: "service-resolver", Name: "web", DefaultSubset: "v1" }, 400, `Request decoding failed: DefaultSubset "v1" is not a valid subset`],
      [{ Kind: "service-resolver", Name: "web", Redirect: { Datacenter: "dc2" }, Failover: { "*": { Datacenters: ["dc3"] } } }, 400, "Request decoding failed: Redirect and Failover cannot both be set"],
      [{ Kind: "service-resolver", Name: "web", Failover: { v9: { Service: "x" } } }, 400, `Request decoding failed: Bad Failover["v9"]: not a valid subset subset`],
      [{ Kind: "service-splitter", Name: "web", Splits: [{ Weight: 70 }, { Weight: 10, Service: "b" }] }, 400, "Request decoding failed: the sum of all split weights must be 100, not 80.000000"],
      [{ Kind: "service-router", Name: "web", Routes: [{ Match: { HTTP: { PathPrefix: "admin" } } }] }, 400, `Request decoding failed: Route[0] PathPrefix doesn't start with '/': "admin"`],
      [{ Kind: "ingress-gateway", Name: "ing", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "a" }, { Name: "b" }] }] }, 400, "Request decoding failed: Multiple services per listener are only supported for L7 protocols, 'http', 'grpc' and 'http2' (listener on port 8080)"],
      [{ Kind: "ingress-gateway", Name: "ing", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "*" }] }] }, 400, "Request decoding failed: Wildcard service name is only valid for protocol = 'http' (listener on port 8080)"],
      [{ Kind: "mesh", TLS: { Incoming: { TLSMinVersion: "TLSv9" } } }, 400, "Request decoding failed: error in incoming TLS configuration: no matching TLS version found for TLSv9"],
      [{ Kind: "exported-services", Name: "default", Services: [{ Name: "web" }] }, 400, `Request decoding failed: service "web" must have at least one consumer`],
      [{ Kind: "exported-services", Services: [] }, 400, `Request decoding failed: exported-services Name must be "default"`],
      // Graph errors are Consul's 500.
      [{ Kind: "service-splitter", Name: "web", Splits: [{ Weight: 100 }] }, 500, `discovery chain "web" uses a protocol "tcp" that does not permit advanced routing or splitting behavior`],
      [{ Kind: "service-defaults", Name: "web", MutualTLSMode: "permissive" }, 400, `Request decoding failed: MutualTLSMode=permissive is insecure. Set AllowEnablingPermissiveMutualTLS=true in the "mesh" config entry to allow this change.`],
    ];
    for (const [entry, status, text] of cases) {
      const r = await put(entry);
      assert.deepEqual([r.status, r.text], [status, text], JSON.stringify(entry));
    }
    // The mesh entry takes effect: permissive mTLS is allowed once it says so.
    assert.equal((await put({ Kind: "mesh", AllowEnablingPermissiveMutualTLS: true, TransparentProxy: { MeshDestinationsOnly: true }, HTTP: { SanitizeXForwardedClientCert: true } })).status, 200);
    const mesh = await call("GET", "/v1/config/mesh/mesh");
    assert.deepEqual((mesh.body as Record<string, unknown>).TransparentProxy, { MeshDestinationsOnly: true });
    assert.equal((await put({ Kind: "service-defaults", Name: "web", MutualTLSMode: "permissive" })).status, 200);
  });

  it("stores, lists, cas-deletes and blocks on chain entries; refuses deletes that break a chain", async () => {
    assert.equal((await put({ kind: "service-defaults", name: "api", protocol: "http" })).status, 200);
    const w = await put({ kind: "service-resolver", name: "api", connect_timeout: "15s", subsets: { v1: { filter: "Service.Meta.version == v1" }, v2: { only_passing: true } }, default_subset: "v1" });
    assert.equal(w.status, 200, w.text);
    const got = await call("GET", "/v1/config/service-resolver/api");
    const entry = got.body as Record<string, unknown>;
    assert.deepEqual([entry.ConnectTimeout, entry.DefaultSubset, entry.Subsets], ["15s", "v1", { v1: { Filter: "Service.Meta.version == v1" }, v2: { OnlyPassing: true } }]);
    assert.equal((await put({ Kind: "service-splitter", Name: "api", Splits: [{ Weight: 50, ServiceSubset: "v1" }, { Weight: 50, ServiceSubset: "v2" }] })).status, 200);

    // Deleting the protocol the splitter needs is refused (Consul's graph check), so is a subset it uses.
    const del = await call("DELETE", "/v1/config/service-defaults/api");
    assert.deepEqual([del.status, del.text], [500, `discovery chain "api" uses a protocol "tcp" that does not permit advanced routing or splitting behavior`]);
    const shrink = await put({ Kind: "service-resolver", Name: "api", Subsets: { v1: {} } });
    assert.deepEqual([shrink.status, shrink.text], [500, `service "api" does not have a subset named "v2"`]);

    const chain = await call("GET", "/v1/discovery-chain/api");
    assert.equal(chain.status, 200, chain.text);
    const c = (chain.body as { Chain: Record<string, unknown> }).Chain;
    assert.deepEqual([c.ServiceName, c.Protocol, c.StartNode], ["api", "http", "splitter:api.default.default"]);
    assert.deepEqual(Object.keys(c.Targets as object), ["v1.api.default.default.dc1", "v2.api.default.default.dc1"]);

    // A blocking chain read wakes when an entry it is compiled from changes.
    const waiting = call("GET", `/v1/discovery-chain/api?index=${chain.index}&wait=20s`);
    assert.equal((await put({ Kind: "service-splitter", Name: "api", Splits: [{ Weight: 100, ServiceSubset: "v2" }] })).status, 200);
    const woke = await waiting;
    assert.ok(woke.index > chain.index);
    assert.equal(((woke.body as { Chain: { StartNode: string } }).Chain).StartNode, "splitter:api.default.default");

    // POST with overrides: tcp drops the splitter.
    const tcp = await call("POST", "/v1/discovery-chain/api", { OverrideProtocol: "tcp" });
    const tc = (tcp.body as { Chain: Record<string, unknown> }).Chain;
    assert.deepEqual([tc.Protocol, tc.StartNode, typeof tc.CustomizationHash], ["tcp", "resolver:v1.api.default.default.dc1", "string"]);

    const splitter = (await call("GET", "/v1/config/service-splitter/api")).body as { ModifyIndex: number };
    assert.equal((await call("DELETE", `/v1/config/service-splitter/api?cas=${splitter.ModifyIndex - 1}`)).body, false);
    assert.equal((await call("DELETE", `/v1/config/service-splitter/api?cas=${splitter.ModifyIndex}`)).body, true);
    const listed = await call("GET", "/v1/config/service-resolver");
    assert.deepEqual((listed.body as { Name: string }[]).map((e) => e.Name), ["api"]);
  });

  it("answers gateway-services, health/ingress and .ingress DNS from gateway entries", async () => {
    const reg = (body: unknown): Promise<Reply> => call("PUT", "/v1/catalog/register", body);
    assert.equal((await reg({ Node: "edge", Address: "10.1.2.3", Service: { Kind: "ingress-gateway", Service: "ing", Port: 8443 } })).status, 200);
    assert.equal((await reg({ Node: "app", Address: "10.9.9.9", Service: { Service: "shop", Port: 80 } })).status, 200);
    assert.equal((await put({ Kind: "service-defaults", Name: "shop", Protocol: "http" })).status, 200);

    // The listener's protocol must match the chain's (Consul's graph check).
    const mismatch = await put({ Kind: "ingress-gateway", Name: "ing", Listeners: [{ Port: 9000, Protocol: "tcp", Services: [{ Name: "shop" }] }] });
    assert.deepEqual([mismatch.status, mismatch.text], [500, `service "shop" has protocol "http", which does not match defined listener protocol "tcp"`]);

    const before = await call("GET", "/v1/health/ingress/shop");
    assert.deepEqual(before.body, []);
    const waiting = call("GET", `/v1/health/ingress/shop?index=${before.index}&wait=20s`);
    const ok = await put({ Kind: "ingress-gateway", Name: "ing", Listeners: [{ Port: 9000, Protocol: "http", Services: [{ Name: "shop", Hosts: ["shop.example.com"] }] }] });
    assert.equal(ok.status, 200, ok.text);
    const woke = await waiting;
    const entries = woke.body as { Node: { Node: string }; Service: { Service: string; Kind: string } }[];
    assert.deepEqual(entries.map((e) => [e.Node.Node, e.Service.Service, e.Service.Kind]), [["edge", "ing", "ingress-gateway"]]);

    const gs = await call("GET", "/v1/catalog/gateway-services/ing");
    const entry = (await call("GET", "/v1/config/ingress-gateway/ing")).body as { CreateIndex: number; ModifyIndex: number };
    assert.deepEqual(gs.body, [
      { Gateway: { Name: "ing" }, Service: { Name: "shop" }, GatewayKind: "ingress-gateway", Port: 9000, Protocol: "http", Hosts: ["shop.example.com"], ServiceKind: "service", CreateIndex: entry.CreateIndex, ModifyIndex: entry.ModifyIndex },
    ]);

    assert.equal((await put({ Kind: "terminating-gateway", Name: "term", Services: [{ Name: "*" }, { Name: "legacy", CAFile: "/ca.pem", SNI: "legacy.internal" }] })).status, 200);
    const term = (await call("GET", "/v1/catalog/gateway-services/term")).body as Record<string, unknown>[];
    assert.deepEqual(
      term.map((g) => [(g.Service as { Name: string }).Name, g.FromWildcard ?? false, g.CAFile ?? "", g.SNI ?? "", g.ServiceKind ?? ""]),
      [["legacy", false, "/ca.pem", "legacy.internal", ""], ["shop", true, "", "", "service"]],
    );

    const port = agent.dnsPort as number;
    const a = await askUdp(port, "shop.ingress.consul", "A");
    assert.deepEqual([a.rcode, dataOf(a)], ["NOERROR", ["10.1.2.3"]]);
    const missing = await askUdp(port, "nothing.ingress.consul", "A");
    assert.equal(missing.rcode, "NXDOMAIN");
  });

  it("filters the intentions list and reads exact intentions by ns/name and partition/ns/name", async () => {
    assert.equal((await put({ Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "allow" }, { Name: "api", Action: "deny" }] })).status, 200);
    const filtered = await call("GET", `/v1/connect/intentions?filter=${encodeURIComponent('Action == "deny"')}`);
    assert.deepEqual((filtered.body as { SourceName: string }[]).map((i) => i.SourceName), ["api"]);
    const bad = await call("GET", `/v1/connect/intentions?filter=${encodeURIComponent("Nope == 1")}`);
    assert.equal(bad.status, 400);
    for (const [src, dst] of [["default/web", "db"], ["default/default/web", "default/db"]]) {
      const r = await call("GET", `/v1/connect/intentions/exact?source=${src}&destination=${dst}`);
      assert.deepEqual([r.status, (r.body as { SourceName: string }).SourceName], [200, "web"], `${src} ${dst}`);
    }
    const tooMany = await call("GET", "/v1/connect/intentions/exact?source=a/b/c/d&destination=db");
    assert.deepEqual([tooMany.status, tooMany.text], [400, "input can contain at most two '/'"]);
    const ns = await call("GET", "/v1/connect/intentions/exact?source=other/web&destination=db");
    assert.equal(ns.status, 400);
  });
});
