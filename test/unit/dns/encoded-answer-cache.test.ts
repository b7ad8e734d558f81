import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, type Answer, type Packet } from "dns-packet";
import { DnsRequestHandler } from "../../../src/dns/dns-server.ts";
import { dnsSettings } from "../../../src/dns/dns-settings.ts";
import { EncodedAnswerCache, type AnswerStamp } from "../../../src/dns/encoded-answer-cache.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { CatalogFixture, checkFields, serviceFields } from "./catalog-fixture.ts";

// The encoded-answer cache: replies reused byte for byte until the service changes, with the
// message ID patched per query and the answer order still shuffled.

const POOL = { poolSize: 4, refreshEvery: 4, maxEntries: 100 };

function webFixture(instances: number): CatalogFixture {
  const f = new CatalogFixture();
  for (let i = 1; i <= instances; i++) {
    f.register({ node: `n${i}`, nodeAddress: `10.0.0.${i}`, service: serviceFields(`web${i}`, "web"), serviceCheck: "passing" });
  }
  return f;
}

function handlerOver(f: CatalogFixture, clockMs = { now: 1_700_000_000_000 }): DnsRequestHandler {
  const clock = { now: () => clockMs.now, monotonicMs: () => 0, setTimer: () => ({ cancel() {} }) };
  return new DnsRequestHandler({ state: f.state, settings: dnsSettings(), logger: silentLogger, rng: seededRng(7), clock, answerCache: POOL });
}

let nextId = 1;
function query(name: string, type: "A" | "SRV", extra: Partial<Packet> = {}): { id: number; bytes: Buffer } {
  const id = nextId++ & 0xffff;
  return { id, bytes: encode({ type: "query", id, flags: 1 << 8, questions: [{ name, type, class: "IN" }], ...extra }) };
}

async function ask(h: DnsRequestHandler, name: string, type: "A" | "SRV", extra: Partial<Packet> = {}): Promise<ReturnType<typeof decode>> {
  const q = query(name, type, extra);
  const reply = await h.handle(q.bytes, "udp");
  assert.ok(reply);
  const p = decode(reply);
  assert.equal(p.id, q.id);
  return p;
}

const ttlOf = (a: Answer): number | undefined => ("ttl" in a ? a.ttl : undefined);

const addresses = (p: ReturnType<typeof decode>): string[] =>
  (p.answers ?? []).map((a) => (a.type === "A" ? a.data : a.type === "SRV" ? a.data.target : "")).sort();

/** Enough queries to fill the pool and serve several rotations from it. */
const WARM = 40;

test("dns answer cache - a failing check removes the instance from the very next answer", async () => {
  const f = webFixture(3);
  const h = handlerOver(f);
  for (let i = 0; i < WARM; i++) assert.deepEqual(addresses(await ask(h, "web.service.consul", "A")), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  f.registerCheck("n2", checkFields("n2", "service:web2", "critical", "web2", "web"));
  for (let i = 0; i < WARM; i++) assert.deepEqual(addresses(await ask(h, "web.service.consul", "A")), ["10.0.0.1", "10.0.0.3"]);
  // Recovery shows up at once too.
  f.registerCheck("n2", checkFields("n2", "service:web2", "passing", "web2", "web"));
  assert.deepEqual(addresses(await ask(h, "web.service.consul", "A")), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
});

test("dns answer cache - a failing node check removes the instance from the very next SRV answer and its extras", async () => {
  const f = webFixture(3);
  const h = handlerOver(f);
  for (let i = 0; i < WARM; i++) assert.equal((await ask(h, "web.service.consul", "SRV")).answers!.length, 3);
  f.registerCheck("n3", checkFields("n3", "serfHealth", "critical"));
  const p = await ask(h, "web.service.consul", "SRV");
  assert.equal(p.answers!.length, 2);
  assert.ok(p.answers!.every((a) => a.type === "SRV" && !a.data.target.startsWith("n3.")));
  assert.ok((p.additionals ?? []).every((a) => !a.name.startsWith("n3.")));
});

test("dns answer cache - a new instance and a node address change show up in the next answer", async () => {
  const f = webFixture(2);
  const h = handlerOver(f);
  for (let i = 0; i < WARM; i++) await ask(h, "web.service.consul", "A");
  f.register({ node: "n9", nodeAddress: "10.0.0.9", service: serviceFields("web9", "web") });
  assert.deepEqual(addresses(await ask(h, "web.service.consul", "A")), ["10.0.0.1", "10.0.0.2", "10.0.0.9"]);
  for (let i = 0; i < WARM; i++) await ask(h, "web.service.consul", "SRV");
  f.register({ node: "n1", nodeAddress: "10.0.1.1" });
  assert.deepEqual(addresses(await ask(h, "web.service.consul", "A")), ["10.0.0.2", "10.0.0.9", "10.0.1.1"]);
  const srv = await ask(h, "web.service.consul", "SRV");
  assert.ok(srv.additionals!.some((a) => a.type === "A" && a.data === "10.0.1.1"));
});

test("dns answer cache - a settings reload invalidates cached answers", async () => {
  const f = webFixture(2);
  const h = handlerOver(f);
  for (let i = 0; i < WARM; i++) assert.ok((await ask(h, "web.service.consul", "A")).answers!.every((a) => ttlOf(a) === 0));
  h.settings = dnsSettings({ serviceTtlMs: { web: 30_000 } });
  assert.ok((await ask(h, "web.service.consul", "A")).answers!.every((a) => ttlOf(a) === 30));
});

test("dns answer cache - case, EDNS size and transport each get their own reply", async () => {
  const f = webFixture(20);
  const h = handlerOver(f);
  for (let i = 0; i < WARM; i++) {
    const lower = await ask(h, "web.service.consul", "A");
    assert.equal(lower.answers!.length, 3);
    assert.ok(lower.answers!.every((a) => a.name === "web.service.consul"));
    const upper = await ask(h, "WEB.service.consul", "A");
    assert.ok(upper.answers!.every((a) => a.name === "WEB.service.consul"));
    const edns = await ask(h, "web.service.consul", "A", {
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    });
    assert.equal(edns.answers!.length, 20);
    const opt = edns.additionals!.find((r) => r.type === "OPT");
    assert.ok(opt && opt.type === "OPT" && opt.udpPayloadSize === 4096);
    const q = query("web.service.consul", "SRV");
    const tcp = decode((await h.handle(q.bytes, "tcp"))!);
    assert.equal(tcp.id, q.id);
    assert.equal(tcp.answers!.length, 20);
  }
});

test("dns answer cache - answers keep being shuffled: every instance keeps reaching the trimmed UDP answer", async () => {
  const h = handlerOver(webFixture(20));
  const seen = new Set<string>();
  const orders = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const p = await ask(h, "web.service.consul", "A");
    assert.equal(p.answers!.length, 3);
    const order = p.answers!.map((a) => (a.type === "A" ? a.data : ""));
    for (const a of order) seen.add(a);
    orders.add(order.join(","));
  }
  assert.equal(seen.size, 20);
  // A pool of 4 refreshed one slot per 4 hits: far more than 4 distinct replies over time.
  assert.ok(orders.size > 100, `only ${orders.size} distinct answers`);
});

test("dns answer cache - negative answers are not cached (the SOA serial follows the clock)", async () => {
  const clock = { now: 1_700_000_000_000 };
  const h = handlerOver(webFixture(1), clock);
  const serials = new Set<number>();
  for (let i = 0; i < WARM; i++) {
    clock.now += 1000;
    const p = await ask(h, "nope.service.consul", "A");
    assert.equal(p.rcode, "NXDOMAIN");
    const soa = p.authorities![0];
    assert.ok(soa.type === "SOA");
    serials.add(soa.data.serial ?? -1);
  }
  assert.equal(serials.size, WARM);
});

const stamp = (nameIndex: number, over: Partial<AnswerStamp> = {}): AnswerStamp => ({ serviceName: "web", nameIndex, catalogGeneration: 0, settingsGeneration: 0, ...over });

test("dns answer cache - pool fills before serving, rotates, refreshes one slot per turn and drops stale entries", () => {
  const cache = new EncodedAnswerCache({ poolSize: 2, refreshEvery: 3, maxEntries: 10 });
  const reply = (tag: number): Buffer => Buffer.from([0, 0, tag]);
  let current = stamp(5);
  const take = (id: number): Buffer | undefined => cache.take("k", id, () => current);
  assert.equal(take(1), undefined);
  cache.offer("k", current, reply(1));
  assert.equal(take(1), undefined, "pool not full yet");
  cache.offer("k", current, reply(2));
  assert.deepEqual([...take(0x0102)!], [1, 2, 1]);
  assert.deepEqual([...take(0x0304)!], [3, 4, 2]);
  assert.equal(take(5), undefined, "every third hit is a refresh turn");
  cache.offer("k", current, reply(3));
  assert.deepEqual([...take(6)!], [0, 6, 3]);
  current = stamp(6);
  assert.equal(take(7), undefined, "stale");
  assert.equal(cache.size, 0);
  // Offering under another stamp starts the entry over.
  cache.offer("k", current, reply(4));
  cache.offer("k", stamp(6, { settingsGeneration: 1 }), reply(5));
  current = stamp(6, { settingsGeneration: 1 });
  cache.offer("k", current, reply(6));
  assert.deepEqual([...take(0)!].slice(2), [5]);
  assert.deepEqual([...take(0)!].slice(2), [6]);
});

test("dns answer cache - cached bytes are copies: patching one reply's ID leaves the next intact", () => {
  const cache = new EncodedAnswerCache({ poolSize: 1, refreshEvery: 1000, maxEntries: 10 });
  const original = Buffer.from([0xaa, 0xbb, 7, 7]);
  cache.offer("k", stamp(1), original);
  original[2] = 0;
  const first = cache.take("k", 1, () => stamp(1))!;
  first[3] = 0;
  const second = cache.take("k", 2, () => stamp(1))!;
  assert.deepEqual([...second], [0, 2, 7, 7]);
});

test("dns answer cache - bounded: past maxEntries the cache starts over", () => {
  const cache = new EncodedAnswerCache({ poolSize: 1, refreshEvery: 1000, maxEntries: 3 });
  for (let i = 0; i < 3; i++) cache.offer(`k${i}`, stamp(1), Buffer.alloc(2));
  assert.equal(cache.size, 3);
  cache.offer("k3", stamp(1), Buffer.alloc(2));
  assert.equal(cache.size, 1);
});
