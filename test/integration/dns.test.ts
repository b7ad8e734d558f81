import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { decode, encode } from "dns-packet";
import { serviceFields } from "../unit/dns/catalog-fixture.ts";
import { askTcp, askUdp, dataOf, queryPacket, startDnsTestAgent, tcpExchange, udpExchange, type DnsTestAgent } from "./dns-support.ts";

// Real packets over UDP and TCP to a running agent's DNS server.

let t: DnsTestAgent;

before(async () => {
  t = await startDnsTestAgent();
  for (let i = 1; i <= 30; i++) {
    await t.register({
      node: `node${i}`,
      nodeAddress: `10.0.0.${i}`,
      nodeMeta: { rack: `r${i % 3}` },
      service: serviceFields(`web${i}`, "web", { Tags: i <= 5 ? ["primary"] : [] }),
      serviceCheck: "passing",
    });
  }
});

after(async () => {
  await t.stop();
});

test("dns over UDP - UDP and TCP listen on the same port", () => {
  assert.equal(t.dns.udpPort, t.dns.tcpPort);
});

test("dns over UDP - A for a 30-instance service is capped at udp_answer_limit (3), TC clear", async () => {
  const p = await askUdp(t.dns.udpPort, "web.service.consul", "A");
  assert.equal(p.rcode, "NOERROR");
  assert.equal(p.flag_aa, true);
  assert.equal(p.flag_tc, false);
  assert.equal(p.answers!.length, 3);
  for (const ip of dataOf(p)) assert.match(String(ip), /^10\.0\.0\.\d+$/);
});

test("dns over TCP - the same question returns every healthy instance", async () => {
  const p = await askTcp(t.dns.tcpPort, "web.service.consul", "A");
  assert.equal(p.answers!.length, 30);
});

test("dns over UDP - EDNS0 raises the limit and the OPT record is echoed", async () => {
  const p = await askUdp(t.dns.udpPort, "web.service.consul", "A", {
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
  assert.equal(p.answers!.length, 30);
  const opt = p.additionals!.find((a) => a.type === "OPT");
  assert.ok(opt && opt.type === "OPT" && opt.udpPayloadSize === 4096);
});

test("dns over UDP - SRV answers carry node targets with A and TXT additionals", async () => {
  const p = await askUdp(t.dns.udpPort, "primary.web.service.consul", "SRV");
  assert.ok(p.answers!.length >= 1 && p.answers!.length <= 3);
  for (const a of p.answers!) {
    assert.equal(a.type, "SRV");
    if (a.type === "SRV") assert.match(a.data.target, /^node[1-5]\.node\.dc1\.consul$/);
  }
  assert.ok(p.additionals!.some((a) => a.type === "A"));
});

test("dns over UDP - answers are shuffled between responses", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) seen.add(dataOf(await askUdp(t.dns.udpPort, "web.service.consul", "A")).join(","));
  assert.ok(seen.size > 1);
});

test("dns over UDP - a failing check removes the instance from the answer", async () => {
  await t.register({ node: "lonely", nodeAddress: "10.9.0.1", service: serviceFields("solo1", "solo"), serviceCheck: "passing" });
  assert.deepEqual(dataOf(await askUdp(t.dns.udpPort, "solo.service.consul", "A")), ["10.9.0.1"]);
  await t.register({ node: "lonely", nodeAddress: "10.9.0.1", service: serviceFields("solo1", "solo"), serviceCheck: "critical" });
  const p = await askUdp(t.dns.udpPort, "solo.service.consul", "A");
  assert.equal(p.rcode, "NXDOMAIN");
  assert.equal(p.authorities![0].type, "SOA");
});

test("dns over UDP and TCP - malformed packets get FORMERR and the server keeps answering", async () => {
  const garbage = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x61, 0x62]);
  const udpReply = decode(await udpExchange(t.dns.udpPort, garbage));
  assert.equal(udpReply.id, 0xabcd);
  assert.equal(udpReply.rcode, "FORMERR");
  const tcpReply = decode(await tcpExchange(t.dns.tcpPort, garbage));
  assert.equal(tcpReply.rcode, "FORMERR");
  assert.equal((await askUdp(t.dns.udpPort, "web.service.consul", "A")).rcode, "NOERROR");
});

test("dns over TCP - several pipelined requests on one connection are answered in order", async () => {
  const { connect } = await import("node:net");
  const ids = [101, 102, 103];
  const frames = ids.map((id) => {
    const msg = encode({ type: "query", id, questions: [{ name: "web.service.consul", type: "A" }] });
    const f = Buffer.alloc(msg.length + 2);
    f.writeUInt16BE(msg.length, 0);
    msg.copy(f, 2);
    return f;
  });
  const got = await new Promise<number[]>((resolve, reject) => {
    const s = connect(t.dns.tcpPort, "127.0.0.1", () => s.write(Buffer.concat(frames)));
    let buf: Buffer = Buffer.alloc(0);
    const out: number[] = [];
    s.on("error", reject);
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))).id ?? -1);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === ids.length) {
        s.destroy();
        resolve(out);
      }
    });
  });
  assert.deepEqual(got, ids);
});

test("dns recursors - names outside the zone are forwarded to a real upstream and relayed", async () => {
  const upstream = await fakeUpstream((req) => encode({ type: "response", id: req.id, flags: 0x8000, questions: req.questions, answers: [{ type: "A", name: "example.com", ttl: 60, data: "93.184.216.34" }] }));
  const r = await startDnsTestAgent({ recursors: [{ host: "127.0.0.1", port: upstream.port }] });
  try {
    const p = await askUdp(r.dns.udpPort, "example.com", "A");
    assert.equal(p.rcode, "NOERROR");
    assert.deepEqual(dataOf(p), ["93.184.216.34"]);
    const inZone = await askUdp(r.dns.udpPort, "web.service.consul", "A");
    assert.equal(inZone.flag_ra, true);
  } finally {
    await r.stop();
    await upstream.close();
  }
});

test("dns recursors - an upstream that never answers times out into SERVFAIL", async () => {
  const silent = await fakeUpstream(() => undefined);
  const r = await startDnsTestAgent({ recursors: [{ host: "127.0.0.1", port: silent.port }], recursorTimeoutMs: 200 });
  try {
    const started = performance.now();
    const p = decode(await udpExchange(r.dns.udpPort, queryPacket("example.com", "A"), 3000));
    assert.equal(p.rcode, "SERVFAIL");
    assert.equal(p.flag_ra, true);
    assert.ok(performance.now() - started >= 150);
  } finally {
    await r.stop();
    await silent.close();
  }
});

async function fakeUpstream(answer: (req: ReturnType<typeof decode>) => Buffer | undefined): Promise<{ port: number; close(): Promise<void> }> {
  const socket: Socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    const reply = answer(decode(msg));
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}
