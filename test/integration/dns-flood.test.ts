import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { decode } from "dns-packet";
import { DNS_LISTENER_DEFAULTS, listenDns } from "../../src/transport/dns-listener.ts";
import { silentLogger } from "../../src/runtime/logger.ts";
import { serviceFields } from "../unit/dns/catalog-fixture.ts";
import { queryPacket, startDnsTestAgent, tcpExchange } from "./dns-support.ts";

// Issue 12 item 2 over real sockets: a flooding source is bounded by its own token bucket while
// another source is still answered, and DNS work cannot hold the event loop that consensus
// shares for more than about one budget per turn.

/** Sends `count` queries from a socket bound to `fromHost` and counts replies until `settleMs` of quiet. */
async function flood(port: number, fromHost: string, count: number, settleMs = 300): Promise<{ sent: number; replies: number }> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, fromHost, resolve));
  let replies = 0;
  let last = performance.now();
  socket.on("message", () => {
    replies++;
    last = performance.now();
  });
  for (let i = 0; i < count; i++) socket.send(queryPacket("web.service.consul", "A"), port, "127.0.0.1");
  last = performance.now();
  while (performance.now() - last < settleMs) await new Promise((r) => setTimeout(r, 50));
  socket.close();
  return { sent: count, replies };
}

async function askFrom(port: number, fromHost: string): Promise<string> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, fromHost, resolve));
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${fromHost}`)), 2000);
      socket.once("message", (msg) => {
        clearTimeout(timer);
        resolve(decode(msg).rcode ?? "");
      });
      socket.send(queryPacket("web.service.consul", "A"), port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

test("dns flood - one source is held to its rate (UDP dropped, TCP REFUSED) while another source is still answered", async () => {
  const t = await startDnsTestAgent({ maxQpsPerSource: 50 });
  try {
    await t.register({ node: "n1", nodeAddress: "10.0.0.1", service: serviceFields("web1", "web") });
    const started = performance.now();
    const noisy = await flood(t.dns.udpPort, "127.0.0.2", 600);
    const elapsedS = (performance.now() - started) / 1000;
    // A burst of 50, then 50/s for as long as the flood and the quiet wait lasted.
    const bound = 50 + Math.ceil(50 * elapsedS) + 5;
    assert.ok(noisy.replies <= bound, `${noisy.replies} of ${noisy.sent} flooded queries answered (bound ${bound})`);
    // The kernel may drop datagrams of the burst on a loaded machine; some must get through.
    assert.ok(noisy.replies >= 10, `the burst is answered (${noisy.replies})`);
    assert.equal(await askFrom(t.dns.udpPort, "127.0.0.3"), "NOERROR", "another source is unaffected");
  } finally {
    await t.stop();
  }
});

test("dns flood - over TCP the limited source learns REFUSED instead of waiting", async () => {
  // One a second: the first query is answered, and eight in a row cannot all be (that would
  // take seven seconds).
  const t = await startDnsTestAgent({ maxQpsPerSource: 1 });
  try {
    const started = performance.now();
    const rcodes: string[] = [];
    for (let i = 0; i < 8; i++) rcodes.push(decode(await tcpExchange(t.dns.tcpPort, queryPacket("web.service.consul", "A"))).rcode ?? "");
    const elapsedS = (performance.now() - started) / 1000;
    assert.notEqual(rcodes[0], "REFUSED");
    const answered = rcodes.filter((r) => r !== "REFUSED").length;
    assert.ok(answered <= 1 + Math.ceil(elapsedS), `${rcodes.join(",")} in ${elapsedS.toFixed(1)} s`);
  } finally {
    await t.stop();
  }
});

/**
 * Counts handler calls per event-loop turn: a setImmediate chain marks each turn's check
 * phase. Deterministic on a busy machine, unlike wall-clock gaps.
 */
function perTurnCounter(): { count(): void; stop(): number } {
  let current = 0;
  let worst = 0;
  let running = true;
  const tick = (): void => {
    worst = Math.max(worst, current);
    current = 0;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    count: () => current++,
    stop() {
      running = false;
      return Math.max(worst, current);
    },
  };
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a DNS request that costs `ms` of CPU
  }
}

// Requests cost 5 ms each against the default 10 ms budget: at most 2 (3 if the clock is
// coarse) run per turn. Without the budget a poll hands over up to 32 datagrams, and one TCP
// chunk all of its pipelined requests, in a single turn.
const SPIN_MS = 5;
const MAX_PER_TURN = 3;

test("dns flood - expensive UDP requests are bounded per event-loop turn; past the wait queue the excess is dropped and counted", async () => {
  const turns = perTurnCounter();
  const listener = await listenDns(
    { host: "127.0.0.1", port: 0 },
    (msg) => {
      turns.count();
      spin(SPIN_MS);
      return msg;
    },
    silentLogger,
    { ...DNS_LISTENER_DEFAULTS, udpMaxQueued: 16 },
  );
  try {
    const r = await flood(listener.udpPort, "127.0.0.1", 200, 200);
    const worst = turns.stop();
    assert.ok(worst <= MAX_PER_TURN, `${worst} requests handled in one turn`);
    assert.ok(r.replies > 0, "requests are still answered");
    assert.ok(listener.overloadDrops() > 0, "the overload was shed, and counted");
  } finally {
    turns.stop();
    await listener.close();
  }
});

test("dns flood - one slow request does not cost the datagrams behind it: they wait for the next turn and are answered", async () => {
  let calls = 0;
  const listener = await listenDns({ host: "127.0.0.1", port: 0 }, (msg) => {
    if (calls++ === 0) spin(30);
    return msg;
  }, silentLogger);
  try {
    const r = await flood(listener.udpPort, "127.0.0.1", 20, 300);
    assert.equal(r.replies, 20);
    assert.equal(listener.overloadDrops(), 0);
  } finally {
    await listener.close();
  }
});

test("dns flood - pipelined expensive TCP requests are all answered, in order, a budget's worth per turn", async () => {
  const turns = perTurnCounter();
  const listener = await listenDns({ host: "127.0.0.1", port: 0 }, (msg) => {
    turns.count();
    spin(SPIN_MS);
    return msg;
  }, silentLogger);
  try {
    const count = 40;
    const answered = await new Promise<number[]>((resolve, reject) => {
      const frames = Array.from({ length: count }, (_, i) => {
        const f = Buffer.alloc(2 + 12);
        f.writeUInt16BE(12, 0);
        f.writeUInt16BE(i, 2);
        return f;
      });
      const s = connect(listener.tcpPort, "127.0.0.1", () => s.write(Buffer.concat(frames)));
      const ids: number[] = [];
      let buf: Buffer = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error(`only ${ids.length} answered`)), 10_000);
      s.on("error", reject);
      s.on("data", (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          ids.push(buf.readUInt16BE(2));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (ids.length === count) {
          clearTimeout(timer);
          s.destroy();
          resolve(ids);
        }
      });
    });
    const worst = turns.stop();
    assert.deepEqual(answered, Array.from({ length: count }, (_, i) => i));
    assert.ok(worst <= MAX_PER_TURN, `${worst} requests handled in one turn`);
  } finally {
    turns.stop();
    await listener.close();
  }
});
