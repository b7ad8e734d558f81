import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, type OptAnswer, type Packet, type PacketOpt } from "dns-packet";
import { DnsRequestHandler } from "../../../src/dns/dns-server.ts";
import { dnsSettings } from "../../../src/dns/dns-settings.ts";
import { parseSimpleQuery } from "../../../src/dns/fast-question.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { CatalogFixture, serviceFields } from "./catalog-fixture.ts";

// The byte-level question parser: it must agree with dns-packet on the plain shape and
// decline (fall back to dns-packet) on everything else, so replies never differ.

function query(name: string, type: "A" | "SRV" | "AAAA" | "TXT" = "A", extra: Partial<Packet> = {}): Buffer {
  return encode({ type: "query", id: 4242, flags: 1 << 8, questions: [{ name, type, class: "IN" }], ...extra });
}

function optRecord(udpPayloadSize: number, options: PacketOpt[] = []): OptAnswer {
  return { type: "OPT", name: ".", udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options };
}

const ECS: PacketOpt = { code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: "192.0.2.0" };

/** A query with its QTYPE rewritten to a raw code (the typings know no ANY). */
function withQtype(msg: Buffer, code: number): Buffer {
  const out = Buffer.from(msg);
  out.writeUInt16BE(code, 12 + (out.length - 12) - 4);
  return out;
}

test("dns fast parser - a plain question decodes as dns-packet decodes it", () => {
  for (const [name, type] of [["web.service.consul", "A"], ["_web._tcp.service.dc1.consul", "SRV"], ["Web-1.Node.consul", "AAAA"], ["n1.node.consul", "TXT"]] as const) {
    const msg = query(name, type);
    const q = parseSimpleQuery(msg);
    assert.ok(q, name);
    const reference = decode(msg);
    assert.equal(q.id, reference.id);
    assert.equal(q.flags, reference.flags);
    assert.equal(q.name, reference.questions![0].name);
    assert.equal(q.type, reference.questions![0].type);
    assert.equal(q.udpPayloadSize, undefined);
    assert.equal(q.questionStart, 12);
    assert.equal(q.questionEnd, msg.length);
  }
});

test("dns fast parser - an option-less EDNS0 OPT record gives its UDP payload size", () => {
  const q = parseSimpleQuery(query("web.service.consul", "A", { additionals: [optRecord(4096)] }));
  assert.ok(q);
  assert.equal(q.udpPayloadSize, 4096);
  assert.equal(q.name, "web.service.consul");
});

test("dns fast parser - unusual packets fall back to dns-packet", () => {
  const base = query("web.service.consul");
  const patched = (mutate: (b: Buffer) => Buffer): Buffer => mutate(Buffer.from(base));
  const cases: Record<string, Buffer> = {
    "response bit": patched((b) => (b.writeUInt16BE(0x8000, 2), b)),
    "opcode NOTIFY": patched((b) => (b.writeUInt16BE(4 << 11, 2), b)),
    "two questions": encode({ type: "query", id: 1, questions: [{ name: "a.consul", type: "A" }, { name: "b.consul", type: "A" }] }),
    "no question": encode({ type: "query", id: 1, questions: [] }),
    "answer section": encode({ type: "query", id: 1, questions: [{ name: "a.consul", type: "A" }], answers: [{ type: "A", name: "a.consul", data: "1.2.3.4" }] }),
    "class CHAOS": encode({ type: "query", id: 1, questions: [{ name: "web.service.consul", type: "A", class: "CH" }] }),
    "type ANY": withQtype(base, 255),
    "type PTR": encode({ type: "query", id: 1, questions: [{ name: "1.0.0.10.in-addr.arpa", type: "PTR" }] }),
    "root name": encode({ type: "query", id: 1, questions: [{ name: ".", type: "NS" }] }),
    "label with a space": encode({ type: "query", id: 1, questions: [{ name: "we b.service.consul", type: "A" }] }),
    "non-ASCII label": encode({ type: "query", id: 1, questions: [{ name: "wéb.service.consul", type: "A" }] }),
    "ECS option": query("web.service.consul", "A", { additionals: [optRecord(4096, [ECS])] }),
    "two additional records": query("web.service.consul", "A", { additionals: [optRecord(4096), optRecord(1232)] }),
    "additional record that is not OPT": query("web.service.consul", "A", { additionals: [{ type: "A", name: "x.consul", data: "1.2.3.4" }] }),
    "trailing bytes": Buffer.concat([base, Buffer.from([0])]),
    "truncated question": base.subarray(0, base.length - 2),
    "header only": base.subarray(0, 12),
    // The question name points back into the header: legal compression, but not plain.
    "compression pointer": Buffer.concat([base.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]),
    "label longer than the packet": Buffer.concat([base.subarray(0, 12), Buffer.from([40, 0x61, 0x62])]),
  };
  for (const [label, msg] of Object.entries(cases)) assert.equal(parseSimpleQuery(msg), undefined, label);
});

function handler(): DnsRequestHandler {
  const f = new CatalogFixture()
    .register({ node: "n1", nodeAddress: "10.0.0.1", service: serviceFields("web1", "web") })
    .register({ node: "n2", nodeAddress: "10.0.0.2", service: serviceFields("web2", "web") });
  return new DnsRequestHandler({ state: f.state, settings: dnsSettings(), logger: silentLogger, rng: seededRng(3) });
}

test("dns fast parser - packets it declines are still answered by the general path", async () => {
  const h = handler();
  const ecs = decode((await h.handle(query("web.service.consul", "A", { additionals: [optRecord(4096, [ECS])] }), "udp"))!);
  assert.equal(ecs.rcode, "NOERROR");
  assert.equal(ecs.answers!.length, 2);
  const opt = ecs.additionals!.find((r) => r.type === "OPT");
  assert.ok(opt && opt.type === "OPT");
  assert.deepEqual(opt.options!.map((o) => o.code), [8]);

  const any = decode((await h.handle(withQtype(query("web.service.consul"), 255), "udp"))!);
  assert.equal(any.questions![0].type, "ANY");
  assert.deepEqual(any.answers!.map((a) => ("data" in a ? a.data : "")).sort(), ["10.0.0.1", "10.0.0.2"]);

  const chaos = decode((await h.handle(encode({ type: "query", id: 10, questions: [{ name: "web.service.consul", type: "A", class: "CH" }] }), "udp"))!);
  assert.equal(chaos.id, 10);
  assert.equal(chaos.flag_qr, true);
});

test("dns fast parser - the fast and general paths give identical replies", async () => {
  // The same request twice: as plain bytes (fast path) and with the OPT owner name written as
  // a compression pointer (legal, declined by the fast parser, so decoded by dns-packet).
  const name = "Web.Service.Consul";
  const plain = query(name, "SRV", { additionals: [optRecord(1232)] });
  const fast = decode((await handler().handle(plain, "udp"))!);
  const rootOffset = plain.length - 11 - 1 - 4;
  assert.equal(plain[rootOffset], 0);
  const optPart = Buffer.from(plain.subarray(plain.length - 11));
  const viaPointer = Buffer.concat([plain.subarray(0, plain.length - 11), Buffer.from([0xc0, rootOffset]), optPart.subarray(1)]);
  assert.equal(parseSimpleQuery(viaPointer), undefined);
  const general = decode((await handler().handle(viaPointer, "udp"))!);
  assert.deepEqual(fast, general);
  assert.equal(fast.questions![0].name, name);
  assert.ok(fast.answers!.every((a) => a.name === name));
});
