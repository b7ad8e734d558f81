import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode } from "dns-packet";
import { DnsRequestHandler } from "../../../src/dns/dns-server.ts";
import { dnsSettings } from "../../../src/dns/dns-settings.ts";
import { screenHeader } from "../../../src/dns/wire.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { CatalogFixture, serviceFields } from "./catalog-fixture.ts";

// Issue 12 item 2: a request is judged by its 12-byte header before anything is decoded, so a
// packet that claims 65,535 records per section costs what its 13 bytes cost, not 7 ms.

function handler(): DnsRequestHandler {
  const f = new CatalogFixture().register({ node: "n1", nodeAddress: "10.0.0.1", service: serviceFields("web1", "web") });
  return new DnsRequestHandler({ state: f.state, settings: dnsSettings(), logger: silentLogger, rng: seededRng(1) });
}

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number, rest: number[] = []): Buffer {
  const b = Buffer.alloc(12 + rest.length);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  Buffer.from(rest).copy(b, 12);
  return b;
}

const CRAFTED = Buffer.from("12340100ffffffffffffffff00", "hex");

test("dns header screen - the 13-byte packet claiming 65,535 records per section is FORMERR, header only, as Consul answers", async () => {
  const reply = await handler().handle(CRAFTED, "udp", "127.0.0.9");
  assert.ok(reply);
  assert.equal(reply.length, 12, "Go's DNS server rejects on the header and echoes no section");
  const p = decode(reply);
  assert.equal(p.id, 0x1234);
  assert.equal(p.flag_qr, true);
  assert.equal(p.flag_rd, true);
  assert.equal(p.rcode, "FORMERR");
  assert.equal(p.questions?.length, 0);
});

test("dns header screen - crafted counts cost microseconds, not milliseconds, each", async () => {
  const h = handler();
  const packets = [
    CRAFTED,
    header(1, 0x0100, 1, 0xffff, 0xffff, 0xffff, [0]),
    header(2, 0x0100, 1, 0, 0, 0xffff, [0, 0, 1, 0, 1]),
    header(3, 0x0100, 0xffff, 0, 0, 0, [0, 0, 1, 0, 1]),
    header(4, 0x0100, 1, 1, 1, 2, [0, 0, 1, 0, 1]),
  ];
  // Warm up the JIT, then measure this process's CPU time for 2,000 packets. Before the fix
  // one crafted packet cost ~7 ms (dns-packet sizes four 65,535-slot arrays and walks them).
  for (const p of packets) await h.handle(p, "udp");
  const rounds = 400;
  const before = process.cpuUsage();
  for (let i = 0; i < rounds; i++) for (const p of packets) await h.handle(p, "udp");
  const used = process.cpuUsage(before);
  const perPacketMs = (used.user + used.system) / 1000 / (rounds * packets.length);
  assert.ok(perPacketMs < 0.1, `each crafted packet took ${perPacketMs.toFixed(3)} ms of CPU`);
});

test("dns header screen - counts a packet cannot hold, several questions and update-style sections are refused before decoding", () => {
  assert.deepEqual(screenHeader(CRAFTED), { kind: "reject", rcode: "FORMERR" });
  assert.deepEqual(screenHeader(header(1, 0, 0, 0, 0, 0)), { kind: "reject", rcode: "FORMERR" }, "no question");
  assert.deepEqual(screenHeader(header(1, 0, 2, 0, 0, 0, new Array(10).fill(0))), { kind: "reject", rcode: "FORMERR" }, "two questions");
  assert.deepEqual(screenHeader(header(1, 0, 1, 2, 0, 0, new Array(40).fill(0))), { kind: "reject", rcode: "FORMERR" }, "two answers");
  assert.deepEqual(screenHeader(header(1, 0, 1, 0, 2, 0, new Array(40).fill(0))), { kind: "reject", rcode: "FORMERR" }, "two authorities");
  assert.deepEqual(screenHeader(header(1, 0, 1, 0, 0, 3, new Array(40).fill(0))), { kind: "reject", rcode: "FORMERR" }, "three additionals");
  // One question (>= 5 bytes) and two additionals (>= 11 bytes each) need 12 + 5 + 22 bytes.
  assert.deepEqual(screenHeader(header(1, 0, 1, 0, 0, 2, new Array(26).fill(0))), { kind: "reject", rcode: "FORMERR" }, "too short for its counts");
  assert.deepEqual(screenHeader(header(1, 0, 1, 0, 0, 2, new Array(27).fill(0))), { kind: "accept" });
  assert.deepEqual(screenHeader(header(1, 0, 1, 0, 0, 0, [0, 0, 1, 0])), { kind: "reject", rcode: "FORMERR" }, "a question needs 5 bytes");
  assert.deepEqual(screenHeader(header(1, 5 << 11, 1, 0, 0, 0, [0, 0, 1, 0, 1])), { kind: "reject", rcode: "NOTIMP" });
  assert.deepEqual(screenHeader(header(1, 0x8000, 1, 0, 0, 0, [0, 0, 1, 0, 1])), { kind: "ignore" }, "responses are never answered");
  assert.deepEqual(screenHeader(Buffer.alloc(11)), { kind: "ignore" });
});

test("dns header screen - an ordinary query still passes and is answered", async () => {
  const q = encode({ type: "query", id: 9, flags: 1 << 8, questions: [{ name: "web.service.consul", type: "A", class: "IN" }] });
  assert.deepEqual(screenHeader(q), { kind: "accept" });
  const reply = await handler().handle(q, "udp", "127.0.0.9");
  assert.ok(reply);
  assert.equal(decode(reply).rcode, "NOERROR");
});
