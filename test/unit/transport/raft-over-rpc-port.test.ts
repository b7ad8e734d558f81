import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../../src/raft/messages.ts";
import { EntryType, MessageType, message } from "../../../src/raft/messages.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { RaftTransport } from "../../../src/transport/raft-transport.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer } from "../../../src/transport/rpc-server.ts";
import { RAFT_PROTOCOL_BYTE } from "../../../src/transport/rpc.ts";

// Raft shares the server RPC port: the first byte of a connection picks the protocol.

test("server port - connections opening with the Raft byte reach the Raft transport while RPC calls keep working on the same port", async (t) => {
  const received: Message[] = [];
  const b = RaftTransport.detached({ id: 2, onMessage: (m) => received.push(m) });
  const rpc = await startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map([["Status.Ping", () => ({ ok: true })]]),
    logger: silentLogger,
    maxConnections: 16,
    maxInFlightPerConnection: 16,
    protocols: new Map([[RAFT_PROTOCOL_BYTE, (socket, head) => b.accept(socket, head)]]),
  });
  const a = RaftTransport.detached({
    id: 1,
    onMessage: () => {},
    preamble: Uint8Array.of(RAFT_PROTOCOL_BYTE),
    peers: new Map([[2, { host: "127.0.0.1", port: rpc.address.port }]]),
  });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(3) });
  t.after(async () => {
    pool.close();
    await a.close();
    await b.close();
    await rpc.close();
  });
  assert.equal(b.port, 0, "a detached transport has no listener of its own");

  const batch = Array.from({ length: 50 }, (_, i) =>
    message({ type: MessageType.App, from: 1, to: 2, term: 1, index: i, logTerm: 1, entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data: Uint8Array.of(i) }] }),
  );
  a.send(batch);
  const deadline = Date.now() + 5000;
  while (received.length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    received.map((m) => m.entries[0].index),
    batch.map((m) => m.entries[0].index),
  );
  assert.deepEqual(await pool.call(`127.0.0.1:${rpc.address.port}`, "Status.Ping", {}, { timeoutMs: 2000 }), { ok: true });
});
