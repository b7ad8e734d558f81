import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Agent as HttpAgent, request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { Writable } from "node:stream";
import type { HealthCheck, Node, NodeService } from "../../../src/model/catalog.ts";
import { encodeJson } from "../../../src/http/json.ts";
import { InstanceFragments, listPieces } from "../../../src/http/views/instance-fragments.ts";
import { scheduledBody, writeCoalesced } from "../../../src/http/scheduled-body.ts";
import { eventually } from "../../support/eventually.ts";
import { registerInCatalog, startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// A cold list answer (issue 17, S4) is sent while its entries are encoded: chunked, since its
// length is not known before. Its bytes must be those of the general path, the framing must be
// right for HTTP/1.1 clients (keep-alive: the next answer on the same connection parses) and
// HTTP/1.0 ones, HEAD keeps its Content-Length and sends no body, and a client that hangs up
// midway stops the encoding.

let agent: TestAgent;
const INSTANCES = 600;
const KEEP_ALL_HEALTH = encodeURIComponent('Service.Service != "no-such-service"');

before(async () => {
  agent = await startTestAgent();
  const writes: Promise<void>[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    for (const svc of ["cold-a", "cold-b", "cold-c", "cold-d"]) {
      writes.push(register({ Node: `n-${i}`, Address: "10.2.0.1", Service: { ID: svc, Service: svc, Tags: ["t"] }, Check: { CheckID: `service:${svc}`, Name: "c", Status: "passing", ServiceID: svc } }));
    }
    if (writes.length >= 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
});
after(() => agent.stop());

const register = (body: unknown): Promise<void> => registerInCatalog(agent, body);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The local port of the connection it came on (the same for two answers on one connection). */
  localPort: number | undefined;
}

function get(http: HttpAgent, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${agent.base}${path}`, { agent: http, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), localPort: req.socket?.localPort }));
      res.once("error", reject);
    });
    req.once("error", reject).end();
  });
}

test("streamed cold list - chunked and byte-identical; the next answer on the same connection parses; a repeat has a Content-Length", async () => {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const [svc, query] of [
      ["cold-a", "?pretty"],
      ["cold-b", ""],
      ["cold-c", "?stale"],
    ] as const) {
      const cold = await get(http, `/v1/health/service/${svc}${query}`);
      assert.equal(cold.status, 200);
      assert.equal(cold.headers["transfer-encoding"], "chunked", `${svc}${query}: sent while encoded`);
      assert.equal(cold.headers["content-length"], undefined);
      assert.ok(Number(cold.headers["x-consul-index"]) > 0);
      assert.equal((JSON.parse(cold.body) as unknown[]).length, INSTANCES);
      const sep = query === "" ? "?" : "&";
      const general = await get(http, `/v1/health/service/${svc}${query}${sep}filter=${KEEP_ALL_HEALTH}`);
      assert.equal(cold.body, general.body, `${svc}${query}: same bytes as the general path`);
      assert.equal(general.localPort, cold.localPort, "the connection stayed usable after the chunked answer");
      const warm = await get(http, `/v1/health/service/${svc}${query}`);
      assert.equal(warm.body, cold.body);
      assert.equal(warm.headers["content-length"], String(Buffer.byteLength(cold.body)));
      assert.equal(warm.headers["x-consul-index"], cold.headers["x-consul-index"]);
    }
    // ?passing chooses entries from the same streamed list.
    const passing = await get(http, "/v1/health/service/cold-d?passing");
    assert.equal(passing.headers["transfer-encoding"], "chunked");
    assert.equal(passing.body, (await get(http, `/v1/health/service/cold-d?passing&filter=${KEEP_ALL_HEALTH}`)).body);
  } finally {
    http.destroy();
  }
});

test("streamed cold list - an HTTP/1.0 client gets the body unframed, to the close; HEAD stays refused as Consul refuses it", async () => {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  try {
    const head = await get(http, "/v1/catalog/service/cold-a", "HEAD");
    assert.equal(head.status, 405);
    assert.equal(head.body, "");
    const full = await get(http, "/v1/catalog/service/cold-a");
    assert.equal(full.status, 200);
    assert.equal(full.headers["transfer-encoding"], "chunked");
    assert.equal((JSON.parse(full.body) as unknown[]).length, INSTANCES);
  } finally {
    http.destroy();
  }
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(new URL(agent.base).port), "127.0.0.1", () => socket.write("GET /v1/catalog/service/cold-b HTTP/1.0\r\nHost: x\r\n\r\n"));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("end", () => resolve(Buffer.concat(chunks).toString()));
    socket.once("error", reject);
  });
  const [head, body] = [raw.slice(0, raw.indexOf("\r\n\r\n")), raw.slice(raw.indexOf("\r\n\r\n") + 4)];
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.doesNotMatch(head, /transfer-encoding/i, "no chunked framing for an HTTP/1.0 client");
  assert.equal(body, (await get(new HttpAgent(), `/v1/catalog/service/cold-b?filter=${encodeURIComponent('ServiceName != "x"')}`)).body);
});

const node = (name: string): Node => ({ ID: "", Node: name, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 2 });
const service = (id: string): NodeService =>
  ({ ID: id, Service: "web", Tags: [], Address: "", Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, CreateIndex: 3, ModifyIndex: 4 }) as NodeService;

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test("streamed cold list - pieces pulled while encoding equal the whole answer, and a body dropped midway encodes no more", async () => {
  let encodedEntries = 0;
  const render = (n: Node, s: NodeService, checks: readonly HealthCheck[] | undefined): unknown => {
    encodedEntries++;
    return { Node: n, Service: s, Checks: checks ?? [] };
  };
  const rows = Array.from({ length: 2000 }, (_, i) => ({ n: node(`n${i}`), s: service(`web-${i}`) }));
  const cache = new InstanceFragments(render);
  const fragments = rows.map(({ n, s }) => cache.fragment(n, s, []));
  const expected = encodeJson(
    rows.map(({ n, s }) => ({ Node: n, Service: s, Checks: [] })),
    true,
  );
  encodedEntries = 0;
  // Empty pieces are the pauses: at most 8 entries encoded between two of them.
  let pauses = 0;
  const parts: Buffer[] = [];
  for (const piece of listPieces(cache, fragments, true, 16 * 1024, 8)) {
    if (piece.length === 0) {
      assert.ok(encodedEntries <= 8, `${encodedEntries} entries encoded in one step`);
      encodedEntries = 0;
      pauses++;
      continue;
    }
    parts.push(...piece);
  }
  assert.ok(pauses >= rows.length / 8 - 1, `${pauses} pauses`);
  assert.equal(Buffer.concat(parts).toString(), expected);

  const coldCache = new InstanceFragments(render);
  const coldFragments = rows.map(({ n, s }) => coldCache.fragment(n, s, []));
  encodedEntries = 0;
  const body = scheduledBody(listPieces(coldCache, coldFragments, true, 16 * 1024, 8));
  await new Promise<void>((resolve) => body.once("data", () => resolve()));
  body.destroy();
  const atDrop = encodedEntries;
  for (let i = 0; i < 20; i++) await turn();
  assert.equal(encodedEntries, atDrop, "no entry encoded after the body was dropped");
  assert.ok(atDrop < rows.length / 2, `${atDrop} of ${rows.length} entries encoded before the drop`);
});

test("streamed cold list - a body with read-ahead keeps producing while its socket is stalled, up to its bound", async () => {
  const PIECE = 64 * 1024;
  async function producedWhileStalled(readAheadBytes: number | undefined): Promise<number> {
    let produced = 0;
    function* pieces(): Generator<Buffer[]> {
      for (let i = 0; i < 100; i++) {
        produced++;
        yield [Buffer.alloc(PIECE, 0x20)];
      }
    }
    const body = scheduledBody(pieces(), undefined, readAheadBytes);
    // A socket that takes one write and never drains.
    const stalled = new Writable({ highWaterMark: 1, write: () => undefined });
    body.pipe(stalled);
    for (let i = 0; i < 30; i++) await turn();
    body.destroy();
    return produced;
  }
  const without = await producedWhileStalled(undefined);
  const ahead = await producedWhileStalled(4 * PIECE);
  assert.ok(without <= 2, `${without} pieces produced without read-ahead`);
  assert.ok(ahead >= 5 && ahead <= 7, `${ahead} pieces produced with four pieces of read-ahead`);
});

test("streamed cold list - a piece's parts reach a flowing sink corked, so they leave in one vectored write", async () => {
  function* pieces(): Generator<Buffer[]> {
    yield [Buffer.from("a"), Buffer.from("b"), Buffer.from("c")];
    yield [Buffer.from("d"), Buffer.from("e")];
  }
  const body = scheduledBody(pieces());
  /** What each call into the sink's socket side carried (as a net.Socket's writev). */
  const writes: string[][] = [];
  const sink = new Writable({
    writev: (chunks, done) => {
      writes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      done();
    },
  });
  writeCoalesced(body, sink);
  const finished = new Promise<void>((resolve) => sink.once("finish", () => resolve()));
  body.pipe(sink);
  await finished;
  assert.deepEqual(writes, [["a", "b", "c"], ["d", "e"]]);
});

test("scheduled body - a piece goes to a socket over its high-water mark in one write in its step; the next piece only after the drain, in a later step", async () => {
  // The poll phase that reports the drain also reads the Raft acknowledgements a write waits
  // for (issue 17 C2): answer bytes written from the drain's callbacks are outside the
  // scheduler's one step per turn.
  function* pieces(): Generator<Buffer[]> {
    yield [Buffer.alloc(64, 0x61), Buffer.alloc(64, 0x62), Buffer.alloc(64, 0x63)];
    yield [Buffer.alloc(64, 0x64), Buffer.alloc(64, 0x65)];
  }
  const body = scheduledBody(pieces());
  const writes: string[] = [];
  const waiting: (() => void)[] = [];
  // A socket over its high-water mark after any part, completing a write only when told.
  const socket = new Writable({
    highWaterMark: 16,
    writev: (chunks, done) => {
      writes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString("latin1", 0, 1)).join(""));
      waiting.push(done);
    },
  });
  writeCoalesced(body, socket);
  const finished = new Promise<void>((resolve) => socket.once("finish", () => resolve()));
  body.pipe(socket);
  await eventually("the first piece written", () => Promise.resolve(writes.length === 1), 15_000, 1);
  assert.deepEqual(writes, ["abc"]);
  waiting.shift()?.();
  // The drain and the pipe's resume run in this tick's queue and microtasks: nothing written.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  await new Promise<void>((resolve) => process.nextTick(resolve));
  assert.deepEqual(writes, ["abc"], "written from the drain's own callbacks");
  await eventually("the second piece written", () => Promise.resolve(writes.length === 2), 15_000, 1);
  assert.deepEqual(writes, ["abc", "de"]);
  waiting.shift()?.();
  await finished;
});
