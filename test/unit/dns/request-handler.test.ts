import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, type Packet } from "dns-packet";
import { DnsRequestHandler } from "../../../src/dns/dns-server.ts";
import { dnsSettings, type DnsSettings, type Upstream } from "../../../src/dns/dns-settings.ts";
import type { Exchange } from "../../../src/dns/recursor.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { CatalogFixture, serviceFields } from "./catalog-fixture.ts";

// The request pipeline without sockets: malformed input, header validation, forwarding.

const fixedClock = { now: () => 1_700_000_000_000, monotonicMs: () => 0, setTimer: () => ({ cancel() {} }) };

function handler(settings: Partial<DnsSettings> = {}, exchange?: Exchange): DnsRequestHandler {
  const f = new CatalogFixture().register({ node: "n1", nodeAddress: "10.0.0.1", service: serviceFields("web1", "web") });
  return new DnsRequestHandler({ state: f.state, settings: dnsSettings(settings), logger: silentLogger, rng: seededRng(1), clock: fixedClock, exchange });
}

function query(name: string, type: "A" | "SRV" | "TXT" = "A", extra: Partial<Packet> = {}): Buffer {
  return encode({ type: "query", id: 777, flags: 1 << 8, questions: [{ name, type, class: "IN" }], ...extra });
}

async function ask(h: DnsRequestHandler, msg: Buffer, transport: "udp" | "tcp" = "udp"): Promise<Buffer | undefined> {
  return await h.handle(msg, transport);
}

test("dns server - a well-formed question is answered", async () => {
  const reply = await ask(handler(), query("web.service.consul"));
  assert.ok(reply);
  const p = decode(reply);
  assert.equal(p.id, 777);
  assert.equal(p.rcode, "NOERROR");
  assert.deepEqual(p.answers!.map((a) => ("data" in a ? a.data : undefined)), ["10.0.0.1"]);
});

test("dns server - undecodable input with a header gets FORMERR with the same ID; shorter input is dropped", async () => {
  const h = handler();
  const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x61])]);
  const reply = await ask(h, garbage);
  assert.ok(reply);
  const p = decode(reply);
  assert.equal(p.id, 0x1234);
  assert.equal(p.flag_qr, true);
  assert.equal(p.rcode, "FORMERR");
  assert.equal(await ask(h, Buffer.from([1, 2, 3])), undefined);
});

test("dns server - a response sent to the server is ignored", async () => {
  const msg = encode({ type: "response", id: 1, questions: [{ name: "web.service.consul", type: "A" }] });
  assert.equal(await ask(handler(), msg), undefined);
});

test("dns server - zero or several questions are FORMERR; opcodes other than QUERY/NOTIFY are NOTIMP", async () => {
  const none = decode((await ask(handler(), encode({ type: "query", id: 5, questions: [] })))!);
  assert.equal(none.rcode, "FORMERR");
  const two = encode({ type: "query", id: 6, questions: [{ name: "a.consul", type: "A" }, { name: "b.consul", type: "A" }] });
  assert.equal(decode((await ask(handler(), two))!).rcode, "FORMERR");
  const update = encode({ type: "query", id: 7, flags: 5 << 11, questions: [{ name: "web.service.consul", type: "A" }] });
  const p = decode((await ask(handler(), update))!);
  assert.equal(p.rcode, "NOTIMP");
  assert.equal(p.opcode, "UPDATE");
});

test("dns server - random and mutated packets never throw and never crash the handler", async () => {
  const h = handler();
  const rng = seededRng(99);
  const base = query("web.service.consul", "SRV");
  for (let i = 0; i < 3000; i++) {
    let msg: Buffer;
    if (i % 2 === 0) {
      msg = Buffer.from(base);
      const flips = 1 + Math.floor(rng.float() * 4);
      for (let j = 0; j < flips; j++) msg[Math.floor(rng.float() * msg.length)] = Math.floor(rng.float() * 256);
    } else {
      msg = Buffer.alloc(Math.floor(rng.float() * 80));
      for (let j = 0; j < msg.length; j++) msg[j] = Math.floor(rng.float() * 256);
    }
    const reply = await ask(h, msg);
    if (reply) assert.ok(reply.length >= 12);
  }
  // Still answering afterwards.
  assert.equal(decode((await ask(h, query("web.service.consul")))!).rcode, "NOERROR");
});

test("dns server - names outside the zone are REFUSED without recursors", async () => {
  const p = decode((await ask(handler(), query("example.com")))!);
  assert.equal(p.rcode, "REFUSED");
  assert.equal(p.flag_aa, false);
});

test("dns server - recursors: a failing upstream is skipped, the first NOERROR/NXDOMAIN reply is relayed as-is", async () => {
  const upstreams: Upstream[] = [
    { host: "192.0.2.1", port: 53 },
    { host: "192.0.2.2", port: 53 },
    { host: "192.0.2.3", port: 53 },
  ];
  const asked: string[] = [];
  const exchange: Exchange = async (u, request, transport) => {
    asked.push(`${u.host}/${transport}`);
    const req = decode(request);
    if (u.host === "192.0.2.1") throw new Error("timeout");
    if (u.host === "192.0.2.2") return encode({ type: "response", id: req.id, flags: 2, questions: req.questions });
    return encode({ type: "response", id: req.id, flags: 3, questions: req.questions });
  };
  const h = handler({ recursors: upstreams }, exchange);
  const p = decode((await ask(h, query("example.com"), "tcp"))!);
  assert.equal(p.rcode, "NXDOMAIN");
  assert.equal(p.id, 777);
  assert.deepEqual(asked, ["192.0.2.1/tcp", "192.0.2.2/tcp", "192.0.2.3/tcp"]);
});

test("dns server - recursors all failing gives SERVFAIL with RA; PTR misses are forwarded too", async () => {
  const exchange: Exchange = async () => {
    throw new Error("timeout");
  };
  const h = handler({ recursors: [{ host: "192.0.2.1", port: 53 }] }, exchange);
  const p = decode((await ask(h, query("example.com")))!);
  assert.equal(p.rcode, "SERVFAIL");
  assert.equal(p.flag_ra, true);
  const ptr = encode({ type: "query", id: 8, questions: [{ name: "9.9.9.9.in-addr.arpa", type: "PTR" }] });
  assert.equal(decode((await ask(h, ptr))!).rcode, "SERVFAIL");
});

test("dns server - random recursor strategy still tries every upstream", async () => {
  const asked = new Set<string>();
  const exchange: Exchange = async (u) => {
    asked.add(u.host);
    throw new Error("down");
  };
  const h = handler({ recursors: [{ host: "a", port: 53 }, { host: "b", port: 53 }], recursorStrategy: "random" }, exchange);
  await ask(h, query("example.com"));
  assert.deepEqual([...asked].sort(), ["a", "b"]);
});

test("dns server - PTR without recursors is SERVFAIL", async () => {
  const ptr = encode({ type: "query", id: 8, questions: [{ name: "9.9.9.9.in-addr.arpa", type: "PTR" }] });
  assert.equal(decode((await ask(handler(), ptr))!).rcode, "SERVFAIL");
});

test("dns server - a .query name runs the prepared query with the asker's address, its EDNS client subnet first (near=_ip)", async () => {
  const f = new CatalogFixture().register({ node: "n1", nodeAddress: "10.0.0.1", service: serviceFields("web1", "web") });
  const sources: string[] = [];
  const h = new DnsRequestHandler({
    state: f.state,
    settings: dnsSettings({}),
    logger: silentLogger,
    rng: seededRng(1),
    clock: fixedClock,
    executeQuery: (_name, _dc, sourceIp) => {
      sources.push(sourceIp);
      return Promise.resolve({ status: "not-found" });
    },
  });
  await h.handle(query("q.query.consul"), "udp", "127.0.0.9");
  await h.handle(query("q.query.consul"), "tcp", "::ffff:127.0.0.10");
  const ecs = { type: "OPT" as const, name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [{ code: 8 as const, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: "10.20.30.0" }] };
  await h.handle(query("q.query.consul", "A", { additionals: [ecs] }), "udp", "127.0.0.9");
  await h.handle(query("q.query.consul"), "udp");
  assert.deepEqual(sources, ["127.0.0.9", "127.0.0.10", "10.20.30.0", ""]);
});
