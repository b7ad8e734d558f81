import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, type Packet } from "dns-packet";
import { DnsRequestHandler } from "../../../src/dns/dns-server.ts";
import { dnsSettings, type DnsSettings } from "../../../src/dns/dns-settings.ts";
import { compressNames } from "../../../src/dns/name-compression.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { CatalogFixture, serviceFields } from "./catalog-fixture.ts";

// RFC 1035 4.1.4 compression of our replies, as Consul compresses unless disable_compression.

const reply: Packet = {
  type: "response",
  id: 9,
  flags: 1 << 10,
  questions: [{ name: "web.service.consul", type: "SRV", class: "IN" }],
  answers: [
    { type: "SRV", class: "IN", name: "web.service.consul", ttl: 0, data: { priority: 1, weight: 1, port: 8080, target: "n1.node.dc1.consul" } },
    { type: "SRV", class: "IN", name: "web.service.consul", ttl: 0, data: { priority: 1, weight: 1, port: 8080, target: "n2.node.dc1.consul" } },
    { type: "CNAME", class: "IN", name: "alias.service.consul", ttl: 0, data: "web.service.consul" },
  ],
  authorities: [
    {
      type: "SOA",
      class: "IN",
      name: "consul",
      ttl: 0,
      data: { mname: "ns.consul", rname: "hostmaster.consul", serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
    },
  ],
  additionals: [
    { type: "A", class: "IN", name: "n1.node.dc1.consul", ttl: 0, data: "10.0.0.1" },
    { type: "TXT", class: "IN", name: "n1.node.dc1.consul", ttl: 0, data: ["rack=r1"] },
    { type: "A", class: "IN", name: "N2.node.dc1.consul", ttl: 0, data: "10.0.0.2" },
  ],
};

test("dns compression - a compressed reply decodes to the same records and is smaller", () => {
  const full = encode(reply);
  const compressed = compressNames(full);
  assert.ok(compressed.length < full.length, `${compressed.length} < ${full.length}`);
  assert.deepEqual(decode(compressed), decode(full));
});

test("dns compression - names keep their case: a differently cased name is not pointed at", () => {
  const p = decode(compressNames(encode(reply)));
  assert.equal(p.additionals![2].name, "N2.node.dc1.consul");
  assert.equal(p.additionals![0].name, "n1.node.dc1.consul");
});

test("dns compression - SRV targets are written in full (RFC 2782)", () => {
  const compressed = compressNames(encode(reply));
  // The first SRV target's labels appear verbatim after the first answer's fixed fields.
  assert.ok(compressed.includes(Buffer.from("\u0002n1\u0004node\u0003dc1\u0006consul\u0000", "latin1")));
  assert.ok(compressed.includes(Buffer.from("\u0002n2\u0004node\u0003dc1\u0006consul\u0000", "latin1")));
});

test("dns compression - malformed input comes back unchanged", () => {
  const full = encode(reply);
  for (const bad of [full.subarray(0, 5), full.subarray(0, full.length - 3), Buffer.concat([full, Buffer.from([1])])]) {
    assert.equal(compressNames(bad), bad);
  }
});

function handler(settings: Partial<DnsSettings>): DnsRequestHandler {
  const f = new CatalogFixture();
  for (let i = 1; i <= 3; i++) f.register({ node: `n${i}`, nodeAddress: `10.0.0.${i}`, service: serviceFields(`web${i}`, "web") });
  return new DnsRequestHandler({ state: f.state, settings: dnsSettings(settings), logger: silentLogger, rng: seededRng(5) });
}

const aQuery = encode({ type: "query", id: 1, flags: 1 << 8, questions: [{ name: "web.service.consul", type: "A", class: "IN" }] });

test("dns compression - an A reply has Consul's size: owner names point at the question", async () => {
  const bytes = (await handler({}).handle(aQuery, "udp"))!;
  // header 12 + question (20-byte name + 4) + 3 × (2-byte pointer + 10 fixed + 4 address)
  assert.equal(bytes.length, 12 + 24 + 3 * 16);
  assert.equal(decode(bytes).answers!.length, 3);
});

test("dns compression - disable_compression sends every name in full", async () => {
  const bytes = (await handler({ disableCompression: true }).handle(aQuery, "udp"))!;
  assert.equal(bytes.length, 12 + 24 + 3 * (20 + 10 + 4));
  assert.equal(decode(bytes).answers!.length, 3);
});
