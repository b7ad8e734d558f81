import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeConfigEntry, protocolsDeclaredBy } from "../../../src/connect/config-entry-decode.ts";
import { ChainGraphError, compileDiscoveryChain, validateServiceGraph } from "../../../src/connect/discovery-chain.ts";
import type { ConfigEntryFields } from "../../../src/model/config-entry.ts";

// Fixtures follow Consul's api-docs/discovery-chain.mdx samples and compile_test.go cases, in
// the 1.20 naming (target IDs service.namespace.partition.dc, router/splitter names
// service.namespace.partition).

const TD = "11111111-2222-3333-4444-555555555555.consul";

function entriesOf(raw: Record<string, unknown>[]): { get(kind: string, name: string): Record<string, unknown> | undefined; list(kind: string): Record<string, unknown>[] } {
  const decoded: ConfigEntryFields[] = [];
  for (const r of raw) decoded.push(decodeConfigEntry(r, protocolsDeclaredBy(decoded, { protocolOf: () => "tcp" })));
  return {
    get: (kind, name) => decoded.find((e) => e.Kind === kind && e.Name === name),
    list: (kind) => decoded.filter((e) => e.Kind === kind),
  };
}

const target = (service: string, dc = "dc1", subset = "", extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const id = subset === "" ? `${service}.default.default.${dc}` : `${subset}.${service}.default.default.${dc}`;
  const sni = `${subset === "" ? "" : `${subset}.`}${service}.default.${dc}.internal.${TD}`;
  return { ConnectTimeout: "5s", ID: id, Service: service, ...(subset === "" ? {} : { ServiceSubset: subset }), Namespace: "default", Partition: "default", Datacenter: dc, MeshGateway: {}, Subset: {}, TransparentProxy: {}, SNI: sni, Name: sni, ...extra };
};

describe("discovery chain compilation (Consul's compile.go)", () => {
  it("compiles the default chain", () => {
    const chain = compileDiscoveryChain({ serviceName: "web", datacenter: "dc1", trustDomain: TD, entries: entriesOf([]) });
    assert.deepEqual(JSON.parse(JSON.stringify(chain)), {
      ServiceName: "web", Namespace: "default", Partition: "default", Datacenter: "dc1", Default: true, Protocol: "tcp",
      StartNode: "resolver:web.default.default.dc1",
      Nodes: { "resolver:web.default.default.dc1": { Type: "resolver", Name: "web.default.default.dc1", Resolver: { ConnectTimeout: "5s", Default: true, Target: "web.default.default.dc1" } } },
      Targets: { "web.default.default.dc1": target("web") },
    });
  });

  it("resolves a default subset and keeps its filter on the target", () => {
    const entries = entriesOf([{ Kind: "service-resolver", Name: "web", DefaultSubset: "v1", Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } }]);
    const chain = compileDiscoveryChain({ serviceName: "web", datacenter: "dc1", trustDomain: TD, entries });
    assert.equal(chain.Default, undefined);
    assert.equal(chain.StartNode, "resolver:v1.web.default.default.dc1");
    assert.deepEqual(chain.Nodes["resolver:v1.web.default.default.dc1"].Resolver, { ConnectTimeout: "5s", Target: "v1.web.default.default.dc1" });
    assert.deepEqual(JSON.parse(JSON.stringify(chain.Targets)), { "v1.web.default.default.dc1": target("web", "dc1", "v1", { Subset: { Filter: "Service.Meta.version == v1" } }) });
  });

  it("follows a datacenter redirect with overrides (CustomizationHash set)", () => {
    const entries = entriesOf([{ kind: "service-resolver", name: "web", redirect: { datacenter: "dc2" } }]);
    const chain = compileDiscoveryChain({ serviceName: "web", datacenter: "dc1", trustDomain: TD, entries, overrideConnectTimeoutMs: 7000, overrideProtocol: "grpc", overrideMeshGatewayMode: "remote" });
    assert.equal(chain.Protocol, "grpc");
    assert.match(chain.CustomizationHash ?? "", /^[0-9a-f]{8}$/);
    assert.equal(chain.StartNode, "resolver:web.default.default.dc2");
    assert.deepEqual(chain.Nodes["resolver:web.default.default.dc2"].Resolver, { ConnectTimeout: "7s", Target: "web.default.default.dc2" });
    assert.deepEqual(JSON.parse(JSON.stringify(chain.Targets)), { "web.default.default.dc2": target("web", "dc2", "", { ConnectTimeout: "7s", MeshGateway: { Mode: "remote" } }) });
  });

  it("lists failover datacenters as targets", () => {
    const entries = entriesOf([{ kind: "service-resolver", name: "web", connect_timeout: "15s", failover: { "*": { datacenters: ["dc3", "dc4"] } } }]);
    const chain = compileDiscoveryChain({ serviceName: "web", datacenter: "dc1", trustDomain: TD, entries });
    assert.deepEqual(chain.Nodes["resolver:web.default.default.dc1"].Resolver, {
      ConnectTimeout: "15s", Target: "web.default.default.dc1", Failover: { Targets: ["web.default.default.dc3", "web.default.default.dc4"] },
    });
    assert.deepEqual(Object.keys(chain.Targets), ["web.default.default.dc1", "web.default.default.dc3", "web.default.default.dc4"]);
    assert.equal(chain.Targets["web.default.default.dc3"].ConnectTimeout, "15s");
  });

  it("splits between subsets", () => {
    const entries = entriesOf([
      { Kind: "service-defaults", Name: "web", Protocol: "http" },
      { Kind: "service-resolver", Name: "web", DefaultSubset: "v1", Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } },
      { Kind: "service-splitter", Name: "web", Splits: [{ Weight: 90, ServiceSubset: "v1" }, { Weight: 10, ServiceSubset: "v2" }] },
    ]);
    const chain = compileDiscoveryChain({ serviceName: "web", datacenter: "dc2", trustDomain: TD, entries });
    assert.equal(chain.Protocol, "http");
    assert.equal(chain.StartNode, "splitter:web.default.default");
    assert.deepEqual(chain.Nodes["splitter:web.default.default"], {
      Type: "splitter", Name: "web.default.default",
      Splits: [
        { Definition: { Weight: 90, ServiceSubset: "v1" }, Weight: 90, NextNode: "resolver:v1.web.default.default.dc2" },
        { Definition: { Weight: 10, ServiceSubset: "v2" }, Weight: 10, NextNode: "resolver:v2.web.default.default.dc2" },
      ],
    });
    assert.deepEqual(Object.keys(chain.Nodes), ["resolver:v1.web.default.default.dc2", "resolver:v2.web.default.default.dc2", "splitter:web.default.default"]);
  });

  it("routes by path prefix and header, with the catch-all route last", () => {
    const entries = entriesOf([
      { Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" } },
      { Kind: "service-resolver", Name: "web", Subsets: { canary: { Filter: "Service.Meta.flavor == canary" } } },
      {
        kind: "service-router", name: "web",
        routes: [
          { match: { http: { path_prefix: "/admin" } }, destination: { service: "admin", prefix_rewrite: "/", request_timeout: "15s" } },
          { match: { http: { header: [{ name: "x-debug", exact: "1" }] } }, destination: { service: "web", service_subset: "canary", num_retries: 5, retry_on_connect_failure: true, retry_on_status_codes: [401, 409] } },
        ],
      },
    ]);
    const chain = compileDiscoveryChain({ serviceName: "web", datacenter: "dc1", trustDomain: TD, entries });
    assert.equal(chain.StartNode, "router:web.default.default");
    const routes = chain.Nodes["router:web.default.default"].Routes ?? [];
    assert.deepEqual(routes, [
      { Definition: { Match: { HTTP: { PathPrefix: "/admin" } }, Destination: { Service: "admin", PrefixRewrite: "/", RequestTimeout: "15s" } }, NextNode: "resolver:admin.default.default.dc1" },
      { Definition: { Match: { HTTP: { Header: [{ Name: "x-debug", Exact: "1" }] } }, Destination: { Service: "web", ServiceSubset: "canary", NumRetries: 5, RetryOnConnectFailure: true, RetryOnStatusCodes: [401, 409] } }, NextNode: "resolver:canary.web.default.default.dc1" },
      { Definition: { Match: { HTTP: { PathPrefix: "/" } }, Destination: { Service: "web", Namespace: "default", Partition: "default" } }, NextNode: "resolver:web.default.default.dc1" },
    ]);
    assert.deepEqual(chain.Nodes["resolver:admin.default.default.dc1"].Resolver, { ConnectTimeout: "5s", Default: true, Target: "admin.default.default.dc1" });
    assert.deepEqual(chain.Nodes["resolver:web.default.default.dc1"].Resolver, { ConnectTimeout: "5s", Target: "web.default.default.dc1" });
    assert.deepEqual(Object.keys(chain.Targets), ["admin.default.default.dc1", "canary.web.default.default.dc1", "web.default.default.dc1"]);
  });

  it("flattens a splitter that splits to another service's splitter", () => {
    const entries = entriesOf([
      { Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" } },
      { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 60, Service: "other" }, { Weight: 40 }] },
      { Kind: "service-splitter", Name: "other", Splits: [{ Weight: 50, Service: "a" }, { Weight: 50, Service: "b" }] },
    ]);
    const chain = compileDiscoveryChain({ serviceName: "main", datacenter: "dc1", trustDomain: TD, entries });
    const splits = chain.Nodes["splitter:main.default.default"].Splits ?? [];
    assert.deepEqual(splits.map((x) => [x.Weight, x.NextNode]), [[30, "resolver:a.default.default.dc1"], [30, "resolver:b.default.default.dc1"], [40, "resolver:main.default.default.dc1"]]);
    assert.equal(chain.Nodes["splitter:other.default.default"], undefined);
  });

  it("refuses graphs Consul refuses (protocol, subsets, circular redirects)", () => {
    const tcpSplitter = entriesOf([{ Kind: "service-splitter", Name: "web", Splits: [{ Weight: 100 }] }]);
    assert.throws(() => validateServiceGraph(tcpSplitter, "dc1"), (e: unknown) => e instanceof ChainGraphError && e.message === `discovery chain "web" uses a protocol "tcp" that does not permit advanced routing or splitting behavior`);
    const missingSubset = entriesOf([
      { Kind: "service-defaults", Name: "web", Protocol: "http" },
      { Kind: "service-splitter", Name: "web", Splits: [{ Weight: 100, ServiceSubset: "v9" }] },
    ]);
    assert.throws(() => validateServiceGraph(missingSubset, "dc1"), /service "web" does not have a subset named "v9"/);
    const loop = entriesOf([
      { Kind: "service-resolver", Name: "a", Redirect: { Service: "b" } },
      { Kind: "service-resolver", Name: "b", Redirect: { Service: "a" } },
    ]);
    assert.throws(() => validateServiceGraph(loop, "dc1"), /detected circular resolver redirect: \[a.default.default.dc1 -> b.default.default.dc1 -> a.default.default.dc1\]/);
    const mixed = entriesOf([
      { Kind: "service-defaults", Name: "web", Protocol: "http" },
      { Kind: "service-resolver", Name: "web", Redirect: { Service: "db" } },
    ]);
    assert.throws(() => validateServiceGraph(mixed, "dc1"), /uses inconsistent protocols; service "db" has "tcp" which is not "http"/);
  });
});
