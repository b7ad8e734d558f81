import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { decode } from "dns-packet";
import { listenDns } from "../../src/transport/dns-listener.ts";
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
    assert.ok(noisy.replies >= 40, `the burst is answered (${noisy.replies})`);
    assert.equal(await askFrom(t.dns.udpPort, "127.0.0.3"), "NOERROR", "another source is unaffected");
  } finally {
    await t.stop();
  }
});

test("dns flood - over TCP the limited source learns REFUSED instead of waiting", async () => {
  const t = await startDnsTestAgent({ maxQpsPerSource: 5 });
  try {
    const rcodes: string[] = [];
    for (let i = 0; i < 8; i++) rcodes.push(decode(await tcpExchange(t.dns.tcpPort, queryPacket("web.service.consul", "A"))).rcode ?? "");
    assert.ok(rcodes.includes("REFUSED"), rcodes.join(","));
    assert.ok(rcodes.slice(0, 5).every((r) => r !== "REFUSED"), rcodes.join(","));
  } finally {
    await t.stop();
  }
});

/** Largest gap between ticks of a 5 ms interval while `during` runs: how long the loop was held. */
async function maxLoopGapMs(during: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  try {
    await during();
  } finally {
    clearInterval(timer);
  }
  return worst;
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a DNS request that costs `ms` of CPU
  }
}

test("dns flood - expensive UDP requests never hold the event loop for more than about one turn budget", async () => {
  const listener = await listenDns({ host: "127.0.0.1", port: 0 }, (msg) => {
    spin(20);
    return msg;
  }, silentLogger);
  try {
    const gap = await maxLoopGapMs(async () => {
      await flood(listener.udpPort, "127.0.0.1", 200, 200);
    });
    // Without the budget one poll hands over up to 32 datagrams: 640 ms in one turn.
    assert.ok(gap < 250, `the event loop was held for ${gap.toFixed(0)} ms`);
    assert.ok(listener.overloadDrops() > 0, "the overload was shed, and counted");
  } finally {
    await listener.close();
  }
});

test("dns flood - pipelined expensive TCP requests are all answered, in order, one budget per turn", async () => {
  const listener = await listenDns({ host: "127.0.0.1", port: 0 }, (msg) => {
    spin(20);
    return msg;
  }, silentLogger);
  try {
    const count = 25;
    let answered: number[] = [];
    const gap = await maxLoopGapMs(async () => {
      answered = await new Promise<number[]>((resolve, reject) => {
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
    });
    assert.deepEqual(answered, Array.from({ length: count }, (_, i) => i));
    // Without the budget one data event runs all 25 back to back: 500 ms in one turn.
    assert.ok(gap < 250, `the event loop was held for ${gap.toFixed(0)} ms`);
  } finally {
    await listener.close();
  }
});
