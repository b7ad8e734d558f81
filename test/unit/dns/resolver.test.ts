import { test } from "node:test";
import assert from "node:assert/strict";
import type { Answer } from "dns-packet";
import { dnsSettings, type DnsSettings } from "../../../src/dns/dns-settings.ts";
import { resolveQuestion, serviceTtlMs, type Answered, type Resolution } from "../../../src/dns/resolver.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { CatalogFixture, checkFields, serviceFields } from "./catalog-fixture.ts";

// Golden answers for every query form of spec/dns.md, against a fixed catalog. `keepOrder`
// makes the Fisher-Yates shuffle the identity, so answers come in catalog order (node, ID).

const NOW_MS = 1_700_000_000_000;
const keepOrder = (): number => 0.999999;

function catalog(): CatalogFixture {
  return new CatalogFixture()
    .register({ node: "n1", nodeAddress: "10.0.0.1", nodeMeta: { rack: "r1" }, service: serviceFields("web1", "web", { Tags: ["primary", "v1.2"], Weights: { Passing: 10, Warning: 2 } }), serviceCheck: "passing" })
    .register({ node: "n2", nodeAddress: "10.0.0.2", service: serviceFields("web2", "web", { Address: "192.0.2.10", Port: 9090, Weights: { Passing: 10, Warning: 2 } }), serviceCheck: "warning" })
    .register({ node: "n3", nodeAddress: "10.0.0.3", service: serviceFields("web3", "web"), serviceCheck: "critical" })
    .register({ node: "n4", nodeAddress: "10.0.0.4", service: serviceFields("web4", "web"), nodeCheck: "critical" })
    .register({ node: "n5", nodeAddress: "2001:db8::5", service: serviceFields("db1", "db", { Port: 5432 }) })
    .register({ node: "n6", nodeAddress: "10.0.0.6", service: serviceFields("ext1", "ext", { Address: "ext.example.com", Port: 443 }) })
    .register({ node: "n6", nodeAddress: "10.0.0.6", service: serviceFields("alias1", "alias", { Address: "web.service.consul" }) })
    .register({
      node: "n6",
      nodeAddress: "10.0.0.6",
      service: serviceFields("web-sidecar", "web-sidecar-proxy", { Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "web" } }),
    })
    .register({ node: "n7", nodeAddress: "10.0.0.7", service: serviceFields("native1", "web", { Connect: { Native: true }, Port: 7070 }), serviceCheck: "critical" })
    .register({ node: "n8", nodeAddress: "10.0.0.8", service: serviceFields("api1", "api", { TaggedAddresses: { "consul-virtual": { Address: "240.0.0.5", Port: 0 } } }) })
    .register({ node: "srv1", nodeAddress: "10.0.0.100", service: serviceFields("consul", "consul", { Port: 8300 }) });
}

function resolve(name: string, type: string, settings: Partial<DnsSettings> = {}, fixture = catalog()): Resolution {
  return resolveQuestion({ name, type }, { state: fixture.state, settings: dnsSettings(settings), random: keepOrder, nowMs: NOW_MS });
}

function answered(r: Resolution): Answered {
  assert.equal(r.kind, "answer");
  return r as Answered;
}

const SOA_CONSUL: Answer = {
  type: "SOA",
  class: "IN",
  name: "consul",
  ttl: 0,
  data: { mname: "ns.consul", rname: "hostmaster.consul", serial: 1_700_000_000, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
};

const a = (name: string, data: string, ttl = 0): Answer => ({ type: "A", class: "IN", name, ttl, data });
const txt = (name: string, text: string, ttl = 0): Answer => ({ type: "TXT", class: "IN", name, ttl, data: [text] });
const srv = (name: string, target: string, port: number, weight: number, ttl = 0): Answer => ({
  type: "SRV",
  class: "IN",
  name,
  ttl,
  data: { priority: 1, weight, port, target },
});

function nxdomain(r: Resolution): void {
  assert.deepEqual(answered(r), { kind: "answer", rcode: "NXDOMAIN", answers: [], authorities: [SOA_CONSUL], additionals: [] });
}

test("dns - <service>.service.<domain> A returns passing and warning instances, never critical ones (service or node check)", () => {
  const r = answered(resolve("web.service.consul", "A"));
  assert.equal(r.rcode, "NOERROR");
  assert.deepEqual(r.answers, [a("web.service.consul", "10.0.0.1"), a("web.service.consul", "192.0.2.10")]);
  assert.deepEqual(r.authorities, []);
});

test("dns - answer owner names echo the question's case; matching is case-insensitive", () => {
  const r = answered(resolve("WeB.SeRvIcE.CoNsUl", "A"));
  assert.deepEqual(r.answers.map((x) => x.name), ["WeB.SeRvIcE.CoNsUl", "WeB.SeRvIcE.CoNsUl"]);
});

test("dns - only_passing drops warning instances too", () => {
  const r = answered(resolve("web.service.consul", "A", { onlyPassing: true }));
  assert.deepEqual(r.answers, [a("web.service.consul", "10.0.0.1")]);
});

test("dns - maintenance checks count as critical", () => {
  const f = catalog().registerCheck("n1", checkFields("n1", "_node_maintenance", "critical"));
  const r = answered(resolve("web.service.consul", "A", {}, f));
  assert.deepEqual(r.answers, [a("web.service.consul", "192.0.2.10")]);
  const g = catalog().registerCheck("n2", checkFields("n2", "_service_maintenance:web2", "critical", "web2", "web"));
  assert.deepEqual(answered(resolve("web.service.consul", "A", {}, g)).answers, [a("web.service.consul", "10.0.0.1")]);
});

test("dns - unknown service, and a service whose instances are all critical, are NXDOMAIN with SOA", () => {
  nxdomain(resolve("nosuch.service.consul", "A"));
  const f = catalog().register({ node: "n9", nodeAddress: "10.0.0.9", service: serviceFields("down1", "down"), serviceCheck: "critical" });
  nxdomain(resolve("down.service.consul", "A", {}, f));
});

test("dns - datacenter suffixes: legacy <dc>, <dc>.dc; an unknown datacenter is NXDOMAIN", () => {
  assert.equal(answered(resolve("web.service.dc1.consul", "A")).answers.length, 2);
  assert.equal(answered(resolve("web.service.dc1.dc.consul", "A")).answers.length, 2);
  assert.equal(answered(resolve("web.service.default.ns.dc1.dc.consul", "A")).answers.length, 2);
  nxdomain(resolve("web.service.dc2.consul", "A"));
  nxdomain(resolve("web.service.other.peer.consul", "A"));
  nxdomain(resolve("web.service.team.ns.consul", "A"));
});

test("dns - names without a keyword or without query parts are NXDOMAIN", () => {
  nxdomain(resolve("web.consul", "A"));
  nxdomain(resolve("service.consul", "A"));
  nxdomain(resolve("consul", "A"));
});

test("dns - <tag>.<service>.service filters by tag; a tag may contain dots", () => {
  assert.deepEqual(answered(resolve("primary.web.service.consul", "A")).answers, [a("primary.web.service.consul", "10.0.0.1")]);
  assert.deepEqual(answered(resolve("v1.2.web.service.consul", "A")).answers, [a("v1.2.web.service.consul", "10.0.0.1")]);
  nxdomain(resolve("secondary.web.service.consul", "A"));
});

test("dns - SRV: priority 1, weight by check status, node and addr targets, A and TXT meta in additional", () => {
  const r = answered(resolve("web.service.consul", "SRV"));
  assert.deepEqual(r.answers, [srv("web.service.consul", "n1.node.dc1.consul", 8080, 10), srv("web.service.consul", "c000020a.addr.dc1.consul", 9090, 2)]);
  assert.deepEqual(r.additionals, [a("n1.node.dc1.consul", "10.0.0.1"), txt("n1.node.dc1.consul", "rack=r1"), a("c000020a.addr.dc1.consul", "192.0.2.10")]);
});

test("dns - SRV without node meta TXT when enable_additional_node_meta_txt is false", () => {
  const r = answered(resolve("web.service.consul", "SRV", { enableAdditionalNodeMetaTxt: false }));
  assert.deepEqual(r.additionals.map((x) => x.type), ["A", "A"]);
});

test("dns - RFC 2782 _<service>._tcp means no tag filter; _<service>._<tag> filters; .service optional for SRV", () => {
  assert.equal(answered(resolve("_web._tcp.service.consul", "SRV")).answers.length, 2);
  assert.deepEqual(answered(resolve("_web._primary.service.consul", "SRV")).answers, [srv("_web._primary.service.consul", "n1.node.dc1.consul", 8080, 10)]);
  assert.equal(answered(resolve("_web._tcp.consul", "SRV")).answers.length, 2);
  assert.equal(answered(resolve("_web._tcp.dc1.consul", "SRV")).answers.length, 2);
  // Without SRV the underscore form needs the keyword.
  nxdomain(resolve("_web._tcp.consul", "A"));
});

test("dns - AAAA for an IPv4-only service and TXT on a service are NOERROR with SOA (NODATA)", () => {
  for (const type of ["AAAA", "TXT", "MX"]) {
    assert.deepEqual(answered(resolve("web.service.consul", type)), { kind: "answer", rcode: "NOERROR", answers: [], authorities: [SOA_CONSUL], additionals: [] });
  }
});

test("dns - AAAA and ANY for an IPv6 service", () => {
  const aaaa: Answer = { type: "AAAA", class: "IN", name: "db.service.consul", ttl: 0, data: "2001:db8::5" };
  assert.deepEqual(answered(resolve("db.service.consul", "AAAA")).answers, [aaaa]);
  assert.deepEqual(answered(resolve("db.service.consul", "ANY")).answers, [aaaa]);
  assert.deepEqual(answered(resolve("db.service.consul", "A")).answers, []);
});

test("dns - SRV target for an IPv6 service address on the node is the node name", () => {
  const r = answered(resolve("db.service.consul", "SRV"));
  assert.deepEqual(r.answers, [srv("db.service.consul", "n5.node.dc1.consul", 5432, 1)]);
  assert.deepEqual(r.additionals, [{ type: "AAAA", class: "IN", name: "n5.node.dc1.consul", ttl: 0, data: "2001:db8::5" }]);
});

test("dns - a hostname service address answers a CNAME; inside the zone it is followed", () => {
  assert.deepEqual(answered(resolve("ext.service.consul", "A")).answers, [{ type: "CNAME", class: "IN", name: "ext.service.consul", ttl: 0, data: "ext.example.com" }]);
  assert.deepEqual(answered(resolve("alias.service.consul", "A")).answers, [
    { type: "CNAME", class: "IN", name: "alias.service.consul", ttl: 0, data: "web.service.consul" },
    a("web.service.consul", "10.0.0.1"),
    a("web.service.consul", "192.0.2.10"),
  ]);
  const r = answered(resolve("ext.service.consul", "SRV"));
  assert.deepEqual(r.answers, [srv("ext.service.consul", "ext.example.com", 443, 1)]);
});

test("dns - a_record_limit caps A answers, not SRV", () => {
  assert.equal(answered(resolve("web.service.consul", "A", { aRecordLimit: 1 })).answers.length, 1);
  assert.equal(answered(resolve("web.service.consul", "SRV", { aRecordLimit: 1 })).answers.length, 2);
});

test("dns - answers are shuffled on every response", () => {
  const f = new CatalogFixture();
  for (let i = 1; i <= 10; i++) f.register({ node: `m${i}`, nodeAddress: `10.1.0.${i}`, service: serviceFields(`s${i}`, "many") });
  const rng = seededRng(7);
  const orders = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = resolveQuestion({ name: "many.service.consul", type: "A" }, { state: f.state, settings: dnsSettings(), random: () => rng.float(), nowMs: NOW_MS });
    const answers = answered(r).answers;
    assert.equal(answers.length, 10);
    orders.add(answers.map((x) => ("data" in x ? String(x.data) : "")).join(","));
  }
  assert.ok(orders.size > 10, `expected varied orders, got ${orders.size}`);
});

test("dns - service_ttl: exact name, longest prefix wildcard, catch-all *; node_ttl for nodes", () => {
  const ttls = { "*": 5000, "we*": 10_000, "w*": 7000, web: 30_000, "db*": 1500 };
  assert.equal(serviceTtlMs(ttls, "web"), 30_000);
  assert.equal(serviceTtlMs(ttls, "website"), 10_000);
  assert.equal(serviceTtlMs(ttls, "wx"), 7000);
  assert.equal(serviceTtlMs(ttls, "other"), 5000);
  assert.equal(serviceTtlMs({}, "other"), 0);
  const r = answered(resolve("db.service.consul", "SRV", { serviceTtlMs: ttls, nodeTtlMs: 60_000 }));
  assert.equal((r.answers[0] as { ttl?: number }).ttl, 1);
  assert.equal((answered(resolve("n1.node.consul", "A", { nodeTtlMs: 60_000 })).answers[0] as { ttl?: number }).ttl, 60);
});

test("dns - <node>.node A with TXT meta in additional; TXT alone; ANY both; unknown node NXDOMAIN", () => {
  const r = answered(resolve("n1.node.consul", "A"));
  assert.deepEqual(r.answers, [a("n1.node.consul", "10.0.0.1")]);
  assert.deepEqual(r.additionals, [txt("n1.node.consul", "rack=r1")]);
  assert.deepEqual(answered(resolve("n1.node.dc1.consul", "TXT")).answers, [txt("n1.node.dc1.consul", "rack=r1")]);
  assert.deepEqual(answered(resolve("n1.node.consul", "ANY")).answers, [a("n1.node.consul", "10.0.0.1"), txt("n1.node.consul", "rack=r1")]);
  assert.deepEqual(answered(resolve("n1.node.consul", "AAAA")), { kind: "answer", rcode: "NOERROR", answers: [], authorities: [SOA_CONSUL], additionals: [] });
  nxdomain(resolve("nosuch.node.consul", "A"));
});

test("dns - node names may contain dots", () => {
  const f = catalog().register({ node: "host.example", nodeAddress: "10.9.9.9" });
  assert.deepEqual(answered(resolve("host.example.node.consul", "A", {}, f)).answers, [a("host.example.node.consul", "10.9.9.9")]);
});

test("dns - <hex>.addr: 8 hex chars A, 32 hex chars AAAA, other type goes to additional, bad hex NXDOMAIN", () => {
  assert.deepEqual(answered(resolve("c000020a.addr.dc1.consul", "A")).answers, [a("c000020a.addr.dc1.consul", "192.0.2.10")]);
  const v6 = answered(resolve("20010db800010002cafe000000001337.addr.dc1.consul", "AAAA"));
  assert.deepEqual(v6.answers, [{ type: "AAAA", class: "IN", name: "20010db800010002cafe000000001337.addr.dc1.consul", ttl: 0, data: "2001:0db8:0001:0002:cafe:0000:0000:1337" }]);
  const mismatch = answered(resolve("c000020a.addr.consul", "AAAA"));
  assert.deepEqual(mismatch.answers, []);
  assert.deepEqual(mismatch.additionals, [a("c000020a.addr.consul", "192.0.2.10")]);
  nxdomain(resolve("zz00020a.addr.consul", "A"));
  assert.deepEqual(answered(resolve("c00002.addr.consul", "A")), { kind: "answer", rcode: "NOERROR", answers: [], authorities: [], additionals: [] });
});

test("dns - <service>.connect returns sidecar proxies and healthy Connect-native instances", () => {
  const r = answered(resolve("web.connect.consul", "SRV"));
  assert.deepEqual(r.answers, [srv("web.connect.consul", "n6.node.dc1.consul", 21000, 1)]);
});

test("dns - <service>.virtual answers the virtual IP; without one, empty NOERROR", () => {
  assert.deepEqual(answered(resolve("api.virtual.consul", "A")).answers, [a("api.virtual.consul", "240.0.0.5")]);
  assert.deepEqual(answered(resolve("web.virtual.consul", "A")), { kind: "answer", rcode: "NOERROR", answers: [], authorities: [], additionals: [] });
});

test("dns - .query names without a query executor and .ingress names (no ingress config entries yet) are NXDOMAIN with SOA", () => {
  nxdomain(resolve("anything.query.consul", "A"));
  nxdomain(resolve("web.ingress.consul", "A"));
});

test("dns - SOA for any name in the zone: SOA answer, NS authority, glue additional", () => {
  const r = answered(resolve("web.service.consul", "SOA"));
  assert.deepEqual(r.answers, [SOA_CONSUL]);
  assert.deepEqual(r.authorities, [{ type: "NS", class: "IN", name: "consul", ttl: 0, data: "srv1.node.dc1.consul" }]);
  assert.deepEqual(r.additionals, [a("srv1.node.dc1.consul", "10.0.0.100")]);
});

test("dns - NS lists healthy servers of the local datacenter with glue; soa settings apply", () => {
  const r = answered(resolve("consul", "NS", { nodeTtlMs: 3000 }));
  assert.deepEqual(r.answers, [{ type: "NS", class: "IN", name: "consul", ttl: 3, data: "srv1.node.dc1.consul" }]);
  assert.deepEqual(r.additionals, [a("srv1.node.dc1.consul", "10.0.0.100", 3)]);
  const soa = answered(resolve("consul", "SOA", { soa: { refresh: 1, retry: 2, expire: 3, minTtl: 4 } })).answers[0];
  assert.deepEqual(soa, { ...SOA_CONSUL, ttl: 4, data: { ...(SOA_CONSUL.type === "SOA" ? SOA_CONSUL.data : {}), refresh: 1, retry: 2, expire: 3, minimum: 4 } });
});

test("dns - AXFR is NOTIMP", () => {
  assert.equal(answered(resolve("consul", "AXFR")).rcode, "NOTIMP");
});

test("dns - alt_domain is served identically and answers use the domain asked under", () => {
  const settings = { altDomain: "example.internal" };
  const r = answered(resolve("web.service.Example.Internal", "SRV", settings));
  assert.deepEqual(r.answers.map((x) => (x.type === "SRV" ? x.data.target : "")), ["n1.node.dc1.example.internal", "c000020a.addr.dc1.example.internal"]);
  const nx = answered(resolve("nosuch.service.example.internal", "A", settings));
  assert.equal(nx.authorities[0].name, "example.internal");
  assert.equal(answered(resolve("web.service.consul", "A", settings)).answers.length, 2);
});

test("dns - a custom domain replaces consul", () => {
  assert.equal(answered(resolve("web.service.mesh", "A", { domain: "mesh" })).answers.length, 2);
  assert.deepEqual(resolve("web.service.consul", "A", { domain: "mesh" }), { kind: "forward", fallback: "REFUSED" });
});

test("dns - PTR: node address first, then service address; PTR answers use the primary domain", () => {
  const r = answered(resolve("1.0.0.10.in-addr.arpa", "PTR", { altDomain: "alt" }));
  assert.deepEqual(r.answers, [{ type: "PTR", class: "IN", name: "1.0.0.10.in-addr.arpa", ttl: 0, data: "n1.node.dc1.consul" }]);
  assert.deepEqual(answered(resolve("10.2.0.192.in-addr.arpa", "PTR")).answers, [
    { type: "PTR", class: "IN", name: "10.2.0.192.in-addr.arpa", ttl: 0, data: "web.service.dc1.consul" },
  ]);
  const v6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
  assert.deepEqual(answered(resolve(v6, "PTR")).answers, [{ type: "PTR", class: "IN", name: v6, ttl: 0, data: "n5.node.dc1.consul" }]);
});

test("dns - PTR with no match goes to recursors, SERVFAIL without; names outside the zone REFUSED without recursors", () => {
  assert.deepEqual(resolve("9.9.9.9.in-addr.arpa", "PTR"), { kind: "forward", fallback: "SERVFAIL" });
  assert.deepEqual(resolve("example.com", "A"), { kind: "forward", fallback: "REFUSED" });
  assert.deepEqual(resolve(".", "NS"), { kind: "forward", fallback: "REFUSED" });
});
