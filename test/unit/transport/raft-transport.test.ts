import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../../src/raft/messages.ts";
import { EntryType, MessageType, message } from "../../../src/raft/messages.ts";
import { RaftTransport, reconnectDelayMs } from "../../../src/transport/raft-transport.ts";
import { freePort } from "../../support/agent-process.ts";

interface Inbox {
  messages: Message[];
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  push(m: Message): void;
}

function inbox(): Inbox {
  const messages: Message[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    messages,
    push(m) {
      messages.push(m);
      if (waiter && messages.length >= waiter.n) waiter.resolve();
    },
    waitFor(n, timeoutMs = 5000) {
      if (messages.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${messages.length} of ${n} messages`)), timeoutMs);
        waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
  };
}

function append(from: number, to: number, index: number): Message {
  return message({
    type: MessageType.App,
    from,
    to,
    term: 1,
    index: index - 1,
    logTerm: 1,
    entries: [{ term: 1, index, type: EntryType.Normal, data: new Uint8Array(64).fill(index & 255) }],
  });
}

test("raft transport - pipelined AppendEntries arrive complete and in order", async (t) => {
  const received = inbox();
  const b = await RaftTransport.listen({ id: 2, host: "127.0.0.1", port: 0, onMessage: (m) => received.push(m) });
  const a = await RaftTransport.listen({ id: 1, host: "127.0.0.1", port: 0, onMessage: () => {}, peers: new Map([[2, { host: "127.0.0.1", port: b.port }]]) });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 1; i <= 1000; i += 10) a.send(Array.from({ length: 10 }, (_, k) => append(1, 2, i + k)));
  await received.waitFor(1000);
  assert.deepEqual(
    received.messages.map((m) => m.entries[0].index),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
  assert.equal(received.messages[5].entries[0].data.byteLength, 64);
  assert.equal(received.messages[5].type, MessageType.App);
});

test("raft transport - a large snapshot travels in chunks and is reassembled", async (t) => {
  const received = inbox();
  const statuses: [number, boolean][] = [];
  const b = await RaftTransport.listen({ id: 2, host: "127.0.0.1", port: 0, onMessage: (m) => received.push(m) });
  const a = await RaftTransport.listen({
    id: 1,
    host: "127.0.0.1",
    port: 0,
    onMessage: () => {},
    onSnapshotStatus: (peer, failed) => statuses.push([peer, failed]),
    snapshotChunkBytes: 64 * 1024,
    peers: new Map([[2, { host: "127.0.0.1", port: b.port }]]),
  });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const data = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
  const snapshot = { data, metadata: { index: 500, term: 4, confState: { voters: [1, 2, 3], learners: [] } } };
  a.send([message({ type: MessageType.Snap, from: 1, to: 2, term: 4, snapshot }), append(1, 2, 501)]);
  await received.waitFor(2);
  const [snap, after] = received.messages;
  assert.equal(snap.type, MessageType.Snap);
  assert.deepEqual(snap.snapshot?.metadata, snapshot.metadata);
  assert.ok(Buffer.from(snap.snapshot?.data ?? []).equals(Buffer.from(data)));
  assert.equal(after.entries[0].index, 501);
  assert.deepEqual(statuses, [[2, false]]);
});

test("raft transport - an unreachable peer is reported, then reconnects with backoff once it is up", async (t) => {
  // A claimed port below the ephemeral range: a port the OS picked (port 0) and let go is free
  // for any outgoing connection's local end until peer 2 binds it a moment later.
  const port = await freePort();
  const unreachable: number[] = [];
  const a = await RaftTransport.listen({
    id: 1,
    host: "127.0.0.1",
    port: 0,
    onMessage: () => {},
    onUnreachable: (peer) => unreachable.push(peer),
    reconnectBaseMs: 20,
    reconnectMaxMs: 100,
    peers: new Map([[2, { host: "127.0.0.1", port }]]),
  });
  t.after(() => a.close());
  const deadline = Date.now() + 3000;
  while (unreachable.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(unreachable.includes(2), "the failed connection was reported");

  const received = inbox();
  const b = await RaftTransport.listen({ id: 2, host: "127.0.0.1", port, onMessage: (m) => received.push(m) });
  t.after(() => b.close());
  let index = 1;
  while (received.messages.length === 0 && Date.now() < deadline + 3000) {
    a.send([append(1, 2, index++)]);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(received.messages.length > 0, "messages flow after the peer came up");
  assert.ok(a.stats.connects >= 1);
});

test("raft transport - a full send queue drops messages and reports them", async (t) => {
  const b = await RaftTransport.listen({ id: 2, host: "127.0.0.1", port: 0, onMessage: () => {} });
  const unreachable: number[] = [];
  const a = await RaftTransport.listen({
    id: 1,
    host: "127.0.0.1",
    port: 0,
    onMessage: () => {},
    onUnreachable: (peer) => unreachable.push(peer),
    maxQueuedMessages: 10,
  });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  a.addPeer(2, { host: "127.0.0.1", port: b.port });
  // Still connecting: everything beyond the queue bound is dropped at once.
  a.send(Array.from({ length: 100 }, (_, i) => append(1, 2, i + 1)));
  assert.equal(a.stats.dropped, 90);
  assert.equal(unreachable.length, 90);
});

test("raft transport - reconnect delay doubles up to the cap and is jittered within [half, full]", () => {
  const o = { baseMs: 50, maxMs: 5000 };
  assert.equal(reconnectDelayMs(1, o, 0), 25);
  assert.equal(reconnectDelayMs(1, o, 1), 50);
  assert.equal(reconnectDelayMs(4, o, 1), 400);
  assert.equal(reconnectDelayMs(40, o, 1), 5000);
  for (let attempt = 1; attempt < 20; attempt++) {
    const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** (attempt - 1));
    const d = reconnectDelayMs(attempt, o, 0.37);
    assert.ok(d >= ceiling / 2 && d <= ceiling);
  }
});
