import { test } from "node:test";
import assert from "node:assert/strict";
import { dnsSettingsFromConfig, normalizeDomain, parseUpstream } from "../../../src/dns/dns-settings.ts";
import { encodeMetaPair, nodeMetaTexts } from "../../../src/dns/node-meta-txt.ts";
import { decodeAddrLabel, encodeAddrLabel, expandIPv6, matchZone, parseQueryName, reverseName } from "../../../src/dns/query-name.ts";
import type { RuntimeConfig } from "../../../src/config/runtime-config.ts";

test("dns names - the rightmost keyword splits query parts from the locality suffix", () => {
  assert.deepEqual(parseQueryName(["web", "service"], false), { kind: "service", parts: ["web"], locality: {} });
  assert.deepEqual(parseQueryName(["primary", "db", "service", "dc2"], false), { kind: "service", parts: ["primary", "db"], locality: { datacenter: "dc2" } });
  assert.deepEqual(parseQueryName(["node", "service"], false), { kind: "service", parts: ["node"], locality: {} });
  assert.deepEqual(parseQueryName(["web", "service", "p1", "peer"], false), { kind: "service", parts: ["web"], locality: { peer: "p1" } });
  assert.deepEqual(parseQueryName(["web", "service", "default", "ns", "default", "ap", "dc1", "dc"], false)?.locality, {
    namespace: "default",
    partition: "default",
    datacenter: "dc1",
  });
  assert.equal(parseQueryName(["web", "service", "a", "b", "c"], false), undefined);
  assert.equal(parseQueryName(["web", "service", "x", "zz"], false), undefined);
  assert.equal(parseQueryName(["service"], false), undefined);
  assert.equal(parseQueryName(["web"], false), undefined);
});

test("dns names - for SRV an underscore label is an implicit service keyword", () => {
  assert.deepEqual(parseQueryName(["_web", "_tcp"], true), { kind: "service", parts: ["_web", "_tcp"], locality: {} });
  assert.equal(parseQueryName(["_web", "_tcp"], false), undefined);
});

test("dns names - zones: domain, alt domain, arpa, outside; case-insensitive suffix match", () => {
  assert.deepEqual(matchZone("web.service.consul", ["consul", ""]), { zone: "consul", domain: "consul", labels: ["web", "service"] });
  assert.deepEqual(matchZone("consul", ["consul", ""]), { zone: "consul", domain: "consul", labels: [] });
  assert.deepEqual(matchZone("x.alt.example", ["consul", "alt.example"]), { zone: "consul", domain: "alt.example", labels: ["x"] });
  assert.deepEqual(matchZone("notconsul", ["consul", ""]), { zone: "outside" });
  assert.deepEqual(matchZone("1.0.0.127.in-addr.arpa", ["consul", ""]), { zone: "arpa" });
  assert.equal(normalizeDomain("Consul."), "consul");
});

test("dns names - addr labels decode and encode IPv4 and expanded IPv6", () => {
  assert.deepEqual(decodeAddrLabel("c000020a"), { family: 4, ip: "192.0.2.10" });
  assert.deepEqual(decodeAddrLabel("20010db800010002cafe000000001337"), { family: 6, ip: "2001:0db8:0001:0002:cafe:0000:0000:1337" });
  assert.equal(decodeAddrLabel("c00002zz"), "invalid");
  assert.equal(decodeAddrLabel("c0000"), "other");
  assert.equal(encodeAddrLabel("192.0.2.10", 4), "c000020a");
  assert.equal(encodeAddrLabel("2001:db8:1:2:cafe::1337", 6), "20010db800010002cafe000000001337");
  assert.equal(expandIPv6("::ffff:1.2.3.4"), "0000:0000:0000:0000:0000:ffff:0102:0304");
  assert.equal(reverseName("10.0.0.1", 4), "1.0.0.10.in-addr.arpa");
  assert.equal(reverseName("2001:db8::5", 6), "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
});

test("dns names - node meta TXT is RFC 1464 key=value; rfc1035- keys give the bare value", () => {
  assert.equal(encodeMetaPair("rack", "r1"), "rack=r1");
  assert.equal(encodeMetaPair("a=b", "c`d"), "a`=b=c``d");
  assert.equal(encodeMetaPair("k`", "v"), "k``=v");
  assert.equal(encodeMetaPair(" lead", "v"), "` lead=v");
  assert.equal(encodeMetaPair("rfc1035-Text", "v=spf1 -all"), "v=spf1 -all");
  assert.deepEqual(nodeMetaTexts({ b: "2", a: "1" }), ["a=1", "b=2"]);
  assert.deepEqual(nodeMetaTexts(null), []);
});

test("dns settings - recursors parse ip, ip:port and [v6]:port; duplicates dropped; domains normalised", () => {
  assert.deepEqual(parseUpstream("8.8.8.8"), { host: "8.8.8.8", port: 53 });
  assert.deepEqual(parseUpstream("8.8.8.8:5353"), { host: "8.8.8.8", port: 5353 });
  assert.deepEqual(parseUpstream("[2001:db8::1]:54"), { host: "2001:db8::1", port: 54 });
  assert.deepEqual(parseUpstream("2001:db8::1"), { host: "2001:db8::1", port: 53 });
  const rc = {
    datacenter: "dc1",
    domain: "Consul.",
    altDomain: "",
    recursors: ["1.1.1.1", "1.1.1.1:53", "9.9.9.9:5353"],
    dns: {
      allowStale: true,
      maxStaleMs: 0,
      nodeTtlMs: 0,
      serviceTtlMs: {},
      enableTruncate: false,
      onlyPassing: false,
      udpAnswerLimit: 3,
      aRecordLimit: 0,
      recursorStrategy: "random",
      recursorTimeoutMs: 0,
      disableCompression: false,
      enableAdditionalNodeMetaTxt: true,
      soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 },
      useCache: false,
      cacheMaxAgeMs: 0,
    },
  } as unknown as RuntimeConfig;
  const s = dnsSettingsFromConfig(rc);
  assert.equal(s.domain, "consul");
  assert.deepEqual(s.recursors, [{ host: "1.1.1.1", port: 53 }, { host: "9.9.9.9", port: 5353 }]);
  assert.equal(s.recursorStrategy, "random");
  assert.equal(s.recursorTimeoutMs, 2000);
});
