import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, encodingLength, type Answer, type DecodedPacket, type Packet } from "dns-packet";
import { dnsSettings, type DnsSettings } from "../../../src/dns/dns-settings.ts";
import { buildReply, HEADER_FLAGS, type DnsTransport } from "../../../src/dns/reply.ts";
import type { Answered } from "../../../src/dns/resolver.ts";

// Header flags, EDNS0 and the size limits of spec/dns.md section 11.

function request(name: string, type: "A" | "SRV", opts: { edns?: number; ecs?: boolean; rd?: boolean } = {}): DecodedPacket {
  const packet: Packet = {
    type: "query",
    id: 4242,
    flags: opts.rd === false ? 0 : HEADER_FLAGS.RD,
    questions: [{ name, type, class: "IN" }],
    additionals:
      opts.edns === undefined
        ? []
        : [
            {
              type: "OPT",
              name: ".",
              udpPayloadSize: opts.edns,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: opts.ecs ? [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: "198.51.100.0" }] : [],
            },
          ],
  };
  return decode(encode(packet));
}

function aAnswers(count: number, name = "web.service.consul"): Answered {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push({ type: "A", class: "IN", name, ttl: 0, data: `10.0.${i >> 8}.${i & 255}` });
  return { kind: "answer", rcode: "NOERROR", answers, authorities: [], additionals: [] };
}

function srvAnswers(count: number): Answered {
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  for (let i = 0; i < count; i++) {
    const target = `node-with-a-fairly-long-name-${i}.node.dc1.consul`;
    answers.push({ type: "SRV", class: "IN", name: "web.service.consul", ttl: 0, data: { priority: 1, weight: 1, port: 8080, target } });
    additionals.push({ type: "A", class: "IN", name: target, ttl: 0, data: `10.0.0.${i}` });
    additionals.push({ type: "TXT", class: "IN", name: target, ttl: 0, data: ["rack=r1"] });
  }
  return { kind: "answer", rcode: "NOERROR", answers, authorities: [], additionals };
}

function reply(req: DecodedPacket, result: Answered, transport: DnsTransport, settings: Partial<DnsSettings> = {}): DecodedPacket {
  const built = buildReply(req, req.questions![0], result, { transport, settings: dnsSettings(settings), authoritative: true });
  return decode(encode(built.packet));
}

test("dns reply - QR and AA set, RD echoed, RA only with recursors, ID and question echoed", () => {
  const r = reply(request("Web.Service.Consul", "A"), aAnswers(1, "Web.Service.Consul"), "udp");
  assert.equal(r.id, 4242);
  assert.equal(r.flag_qr, true);
  assert.equal(r.flag_aa, true);
  assert.equal(r.flag_rd, true);
  assert.equal(r.flag_ra, false);
  assert.deepEqual(r.questions, [{ name: "Web.Service.Consul", type: "A", class: "IN" }]);
  const noRd = reply(request("web.service.consul", "A", { rd: false }), aAnswers(1), "udp", { recursors: [{ host: "127.0.0.1", port: 53 }] });
  assert.equal(noRd.flag_rd, false);
  assert.equal(noRd.flag_ra, true);
});

test("dns reply - plain UDP caps answers at udp_answer_limit (default 3) and leaves TC clear by default", () => {
  const r = reply(request("web.service.consul", "A"), aAnswers(20), "udp");
  assert.equal(r.answers!.length, 3);
  assert.equal(r.flag_tc, false);
});

test("dns reply - enable_truncate sets TC when records were trimmed", () => {
  const r = reply(request("web.service.consul", "A"), aAnswers(20), "udp", { enableTruncate: true });
  assert.equal(r.answers!.length, 3);
  assert.equal(r.flag_tc, true);
  const untrimmed = reply(request("web.service.consul", "A"), aAnswers(2), "udp", { enableTruncate: true });
  assert.equal(untrimmed.flag_tc, false);
});

test("dns reply - udp_answer_limit is honoured but never above 8", () => {
  assert.equal(reply(request("web.service.consul", "A"), aAnswers(20), "udp", { udpAnswerLimit: 5 }).answers!.length, 5);
  assert.equal(reply(request("web.service.consul", "A"), aAnswers(20), "udp", { udpAnswerLimit: 50 }).answers!.length, 8);
});

test("dns reply - plain UDP replies fit 512 bytes measured uncompressed, keeping SRV additionals in sync", () => {
  const r = reply(request("web.service.consul", "SRV"), srvAnswers(8), "udp", { udpAnswerLimit: 8 });
  const size = encodingLength(r);
  assert.ok(size <= 504, `reply is ${size} bytes`);
  assert.ok(r.answers!.length >= 1 && r.answers!.length < 8);
  const targets = new Set(r.answers!.map((x) => (x.type === "SRV" ? x.data.target : "")));
  for (const extra of r.additionals!) assert.ok(targets.has(extra.name), `${extra.name} is no remaining target`);
});

test("dns reply - EDNS0: no count cap, size from the client's buffer, OPT echoed with the same size", () => {
  const r = reply(request("web.service.consul", "A", { edns: 4096 }), aAnswers(20), "udp");
  assert.equal(r.answers!.length, 20);
  const opt = r.additionals!.find((x) => x.type === "OPT");
  assert.ok(opt && opt.type === "OPT");
  assert.equal(opt.udpPayloadSize, 4096);
  const small = reply(request("web.service.consul", "A", { edns: 1232 }), aAnswers(200), "udp");
  assert.ok(encodingLength(small) <= 1232 - 8);
  assert.ok(small.answers!.length > 8);
});

test("dns reply - EDNS Client Subnet is echoed with scope prefix 0", () => {
  const r = reply(request("web.service.consul", "A", { edns: 1232, ecs: true }), aAnswers(1), "udp");
  const opt = r.additionals!.find((x) => x.type === "OPT");
  assert.ok(opt && opt.type === "OPT");
  const ecs = opt.options[0];
  assert.equal(ecs.code, 8);
  assert.ok("sourcePrefixLength" in ecs);
  assert.equal(ecs.sourcePrefixLength, 24);
  assert.equal(ecs.scopePrefixLength, 0);
});

test("dns reply - TCP has no 512-byte limit and no small answer cap", () => {
  const r = reply(request("web.service.consul", "A"), aAnswers(500), "tcp");
  assert.equal(r.answers!.length, 500);
  const srv = reply(request("web.service.consul", "SRV"), srvAnswers(300), "tcp");
  assert.equal(srv.answers!.length, 300);
});

test("dns reply - TCP caps at 4096 answers (1024 for SRV) and 65523 bytes", () => {
  const r = reply(request("web.service.consul", "A"), aAnswers(5000, "."), "tcp");
  assert.equal(r.answers!.length, 4096);
  const big = reply(request("a-long-service-name.service.consul", "A"), aAnswers(4000, "a-long-service-name.service.consul"), "tcp");
  assert.ok(encodingLength(big) <= 65523);
  assert.ok(big.answers!.length < 4000);
  const srv = reply(request("web.service.consul", "SRV"), srvAnswers(1500), "tcp");
  assert.ok(srv.answers!.length <= 1024);
});

test("dns reply - the authority section is dropped first when trimming", () => {
  const result = aAnswers(8);
  result.authorities = [{ type: "NS", class: "IN", name: "consul", ttl: 0, data: "a-very-long-name-server-name-to-take-space.node.dc1.consul" }];
  const r = reply(request("web.service.consul", "A"), { ...result, answers: result.answers.map((x) => ({ ...x, name: "x".repeat(60) + ".service.consul" })) }, "udp", { udpAnswerLimit: 8 });
  assert.deepEqual(r.authorities, []);
});
