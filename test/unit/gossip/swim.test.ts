import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRng } from "../../../src/runtime/rng.ts";
import { decodePacket, encodeMessage } from "../../../src/gossip/codec.ts";
import { gossipConfig } from "../../../src/gossip/config.ts";
import type { GossipConfig } from "../../../src/gossip/config.ts";
import { MemberStatus } from "../../../src/gossip/member-state.ts";
import { MessageKind } from "../../../src/gossip/messages.ts";
import type { GossipMessage } from "../../../src/gossip/messages.ts";
import { GossipTagsTooLargeError, Swim } from "../../../src/gossip/swim.ts";
import type { GossipEvent, SwimReady } from "../../../src/gossip/swim.ts";

// Scripted interactions with the pure core: messages in, effects out, time moved by hand.

const noFallback = gossipConfig({ tcpFallbackProbe: false });

function swim(name: string, options: { config?: GossipConfig; peers?: string[]; nowMs?: number } = {}): Swim {
  return new Swim({
    name,
    addr: `${name}:8301`,
    tags: { role: "node" },
    config: options.config ?? noFallback,
    rng: seededRng(name.length * 7919),
    nowMs: options.nowMs ?? 0,
    initialMembers: (options.peers ?? []).map((p) => ({ name: p, addr: `${p}:8301`, tags: {}, incarnation: 1 })),
  });
}

function sent(ready: SwimReady): { to: string; msg: GossipMessage }[] {
  return ready.packets.flatMap((p) => decodePacket(p.bytes).map((msg) => ({ to: p.to, msg })));
}

function eventsOf(ready: SwimReady, type: GossipEvent["type"]): GossipEvent[] {
  return ready.events.filter((e) => e.type === type);
}

/** Instant, lossless delivery between cores until nothing is in flight (optionally filtered). */
function deliver(cores: Swim[], nowMs: number, drop: (to: string) => boolean = () => false): GossipEvent[] {
  const byAddr = new Map(cores.map((c) => [c.localMember.addr, c]));
  const events: GossipEvent[] = [];
  for (let round = 0; round < 50; round++) {
    let moved = false;
    for (const c of cores) {
      const out = c.ready();
      events.push(...out.events);
      for (const p of out.packets) {
        const target = byAddr.get(p.to);
        if (!target || drop(p.to)) continue;
        moved = true;
        target.receive(c.localMember.addr, p.bytes, nowMs);
      }
      for (const s of out.streams) {
        const target = byAddr.get(s.to);
        const reply = target && !drop(s.to) ? target.handleStream(c.localMember.addr, s.bytes, nowMs) : undefined;
        c.receiveStreamReply(s.id, reply, nowMs);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return events;
}

test("swim - a ping naming us is answered with an ack to its source address", () => {
  const a = swim("a");
  a.receive("x:1", encodeMessage({ kind: MessageKind.ping, seq: 42, target: "a", sourceName: "b", sourceAddr: "b:8301" }), 10);
  const out = sent(a.ready());
  assert.deepEqual(out, [{ to: "b:8301", msg: { kind: MessageKind.ack, seq: 42 } }]);
  a.receive("x:1", encodeMessage({ kind: MessageKind.ping, seq: 43, target: "someone-else", sourceName: "b", sourceAddr: "b:8301" }), 10);
  assert.equal(a.ready().packets.length, 0, "a ping meant for another member at our address is ignored");
});

test("swim - a member missing direct and indirect probes is suspected, then dead after the suspicion timeout", () => {
  const a = swim("a", { peers: ["b", "c"] });
  const b = swim("b", { peers: ["a", "c"] });
  const c = swim("c", { peers: ["a", "b"] });
  let now = 0;
  const isDown = (to: string): boolean => to === "b:8301";
  // Probe until a has probed b (round-robin over a shuffled list).
  for (; now < 5_000 && a.member("b")?.status === MemberStatus.alive; now += 50) {
    a.tick(now);
    c.tick(now);
    deliver([a, c], now, isDown);
  }
  assert.equal(a.member("b")?.status, MemberStatus.suspect);
  assert.ok(a.healthScore === 0, "the indirect prober nacked, so a does not blame itself");
  // n = 3: no confirmations expected, so the minimum timeout applies: 4 × 1 × 1 s.
  const suspectedAt = now;
  let deadAt = -1;
  for (; now < suspectedAt + 10_000 && deadAt < 0; now += 50) {
    a.tick(now);
    c.tick(now);
    for (const e of deliver([a, c], now, isDown)) if (e.type === "dead" && e.member.name === "b") deadAt = now;
  }
  assert.ok(deadAt > 0, "b declared dead");
  assert.ok(deadAt - suspectedAt >= 3_900 && deadAt - suspectedAt <= 4_200, `suspicion lasted ${deadAt - suspectedAt} ms`);
  assert.equal(c.member("b")?.status, MemberStatus.dead, "the death was gossiped to c");
  void b;
});

test("swim - a suspected member refutes with a higher incarnation and counts it against its health", () => {
  const a = swim("a", { peers: ["b"] });
  a.receive("b:8301", encodeMessage({ kind: MessageKind.suspect, incarnation: 1, name: "a", from: "b" }), 100);
  assert.equal(a.localMember.incarnation, 2);
  assert.equal(a.localMember.status, MemberStatus.alive);
  assert.equal(a.healthScore, 1, "Lifeguard: being suspected means we may be slow");
  a.tick(1_000_000);
  const alive = sent(a.ready()).find((p) => p.msg.kind === MessageKind.alive);
  assert.deepEqual(alive?.msg, { kind: MessageKind.alive, incarnation: 2, name: "a", addr: "a:8301", tags: { role: "node" } });
  a.receive("b:8301", encodeMessage({ kind: MessageKind.dead, incarnation: 5, name: "a", from: "b" }), 200);
  assert.equal(a.localMember.incarnation, 6, "a death claim at a higher incarnation is out-numbered too");
});

test("swim - buddy system: a ping to a suspect member carries the suspicion", () => {
  const a = swim("a", { peers: ["b"] });
  a.receive("c:8301", encodeMessage({ kind: MessageKind.suspect, incarnation: 1, name: "b", from: "c" }), 0);
  a.ready();
  let pingParts: GossipMessage[] = [];
  for (let now = 0; now < 3_000 && pingParts.length === 0; now += 100) {
    a.tick(now);
    const out = a.ready().packets.filter((p) => p.to === "b:8301").map((p) => decodePacket(p.bytes));
    pingParts = out.find((msgs) => msgs.some((m) => m.kind === MessageKind.ping)) ?? [];
  }
  assert.ok(pingParts.some((m) => m.kind === MessageKind.suspect && m.name === "b"), "suspect message piggybacked on the ping");
});

test("swim - an indirect probe relays the ack, or a nack when the target stays silent", () => {
  const relay = swim("r", { peers: ["a", "t"] });
  relay.receive("a:8301", encodeMessage({ kind: MessageKind.indirectPing, seq: 9, target: "t", targetAddr: "t:8301", wantNack: true, sourceName: "a", sourceAddr: "a:8301" }), 0);
  const ping = sent(relay.ready()).find((p) => p.to === "t:8301" && p.msg.kind === MessageKind.ping);
  assert.ok(ping && ping.msg.kind === MessageKind.ping);
  relay.receive("t:8301", encodeMessage({ kind: MessageKind.ack, seq: ping.msg.seq }), 10);
  assert.deepEqual(sent(relay.ready()).filter((p) => p.msg.kind === MessageKind.ack), [{ to: "a:8301", msg: { kind: MessageKind.ack, seq: 9 } }]);

  relay.receive("a:8301", encodeMessage({ kind: MessageKind.indirectPing, seq: 10, target: "t", targetAddr: "t:8301", wantNack: true, sourceName: "a", sourceAddr: "a:8301" }), 20);
  relay.ready();
  relay.tick(20 + relay.config.probeTimeoutMs);
  assert.deepEqual(sent(relay.ready()).filter((p) => p.msg.kind === MessageKind.nack), [{ to: "a:8301", msg: { kind: MessageKind.nack, seq: 10 } }]);
});

test("swim - a dead message sent by the member itself marks it left, not dead", () => {
  const a = swim("a", { peers: ["b"] });
  a.receive("b:8301", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "b", from: "b" }), 0);
  const ready = a.ready();
  assert.equal(a.member("b")?.status, MemberStatus.left);
  assert.equal(eventsOf(ready, "leave").length, 1);
  assert.equal(eventsOf(ready, "dead").length, 0);
});

test("swim - graceful leave: peers see left, the leaver reports leaveComplete", () => {
  const a = swim("a", { peers: ["b", "c"] });
  const b = swim("b", { peers: ["a", "c"] });
  const c = swim("c", { peers: ["a", "b"] });
  b.leave(0);
  let complete = false;
  for (let now = 0; now < 6_000 && !complete; now += 100) {
    for (const s of [a, b, c]) s.tick(now);
    complete = deliver([a, b, c], now).some((e) => e.type === "leaveComplete");
  }
  assert.ok(complete);
  assert.equal(a.member("b")?.status, MemberStatus.left);
  assert.equal(c.member("b")?.status, MemberStatus.left);
  assert.equal(b.localMember.status, MemberStatus.left);
});

test("swim - name conflict: an alive claim for a known name from another address is reported, not applied", () => {
  const a = swim("a", { peers: ["b"] });
  a.receive("z:1", encodeMessage({ kind: MessageKind.alive, incarnation: 9, name: "b", addr: "impostor:8301", tags: {} }), 0);
  const conflicts = eventsOf(a.ready(), "conflict");
  assert.equal(conflicts.length, 1);
  assert.equal(a.member("b")?.addr, "b:8301");
  a.receive("z:1", encodeMessage({ kind: MessageKind.alive, incarnation: 9, name: "a", addr: "impostor:8301", tags: {} }), 0);
  const local = eventsOf(a.ready(), "conflict")[0];
  assert.ok(local && local.type === "conflict" && local.local, "a claim on our own name is flagged as local");
});

test("swim - new members join, tag changes are updates", () => {
  const a = swim("a");
  a.receive("b:8301", encodeMessage({ kind: MessageKind.alive, incarnation: 1, name: "b", addr: "b:8301", tags: { role: "consul", dc: "dc1", port: "8300" } }), 0);
  assert.equal(eventsOf(a.ready(), "join").length, 1);
  a.receive("b:8301", encodeMessage({ kind: MessageKind.alive, incarnation: 1, name: "b", addr: "b:8301", tags: { role: "node" } }), 0);
  assert.equal(a.ready().events.length, 0, "same incarnation: old news");
  a.receive("b:8301", encodeMessage({ kind: MessageKind.alive, incarnation: 2, name: "b", addr: "b:8301", tags: { role: "consul", dc: "dc2" } }), 0);
  const updates = eventsOf(a.ready(), "update");
  assert.equal(updates.length, 1);
  assert.equal(a.member("b")?.tags.dc, "dc2");
});

test("swim - user events are delivered once and carry Lamport times", () => {
  const a = swim("a", { peers: ["b"] });
  const msg = { kind: MessageKind.userEvent, ltime: 5, name: "deploy", payload: new Uint8Array([1]), coalesce: false } as const;
  a.receive("b:8301", encodeMessage(msg), 0);
  a.receive("b:8301", encodeMessage(msg), 0);
  const users = eventsOf(a.ready(), "user");
  assert.equal(users.length, 1, "duplicate suppressed");
  assert.equal(a.eventLTime, 6, "clock moved past the witnessed time");
  a.userEvent("restart", new Uint8Array([2]), false);
  const own = eventsOf(a.ready(), "user")[0];
  assert.ok(own && own.type === "user" && own.ltime === 6, "our own event is stamped after what we saw");
  a.receive("b:8301", encodeMessage({ ...msg, payload: new Uint8Array([7]) }), 0);
  assert.equal(eventsOf(a.ready(), "user").length, 1, "same ltime and name, different payload: a different event");
});

test("swim - push-pull join merges both views and takes the seed's event history as seen", () => {
  const seed = swim("seed", { peers: ["x"] });
  seed.userEvent("old", new Uint8Array([0]), false);
  seed.ready();
  const joiner = swim("joiner");
  joiner.join(["seed:8301"]);
  const events = deliver([seed, joiner], 0);
  assert.equal(joiner.member("x")?.status, MemberStatus.alive);
  assert.equal(seed.member("joiner")?.status, MemberStatus.alive);
  assert.equal(events.filter((e) => e.type === "user").length, 0, "history is not replayed to the joiner");
  assert.ok(joiner.eventLTime >= seed.eventLTime);
});

test("swim - a restarted member refutes its own death when it rejoins", () => {
  const seed = swim("seed", { peers: ["r"] });
  seed.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "r", from: "seed" }), 0);
  seed.ready();
  const reborn = swim("r");
  reborn.join(["seed:8301"]);
  deliver([seed, reborn], 10);
  assert.equal(reborn.localMember.incarnation, 2);
  for (let now = 0; now < 2_000; now += 100) {
    seed.tick(now);
    reborn.tick(now);
    deliver([seed, reborn], now);
  }
  assert.equal(seed.member("r")?.status, MemberStatus.alive);
});

test("swim - dead members are reaped after the reconnect timeout, left ones after the tombstone timeout", () => {
  const config = gossipConfig({ tcpFallbackProbe: false, reconnectTimeoutMs: 60_000, tombstoneTimeoutMs: 20_000, reapIntervalMs: 1_000 });
  const a = swim("a", { config, peers: ["dead", "gone"] });
  a.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "dead", from: "z" }), 0);
  a.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "gone", from: "gone" }), 0);
  a.ready();
  a.tick(21_000);
  assert.deepEqual(eventsOf(a.ready(), "reap").map((e) => (e.type === "reap" ? e.member.name : "")), ["gone"]);
  a.tick(61_000);
  assert.deepEqual(eventsOf(a.ready(), "reap").map((e) => (e.type === "reap" ? e.member.name : "")), ["dead"]);
  assert.deepEqual(a.members().map((m) => m.name), ["a"]);
});

test("swim - tags are limited to metaMaxBytes", () => {
  const big = { blob: "x".repeat(600) };
  assert.throws(() => new Swim({ name: "a", addr: "a:1", tags: big, config: noFallback, rng: seededRng(1), nowMs: 0 }), GossipTagsTooLargeError);
});

test("swim - no packet exceeds the UDP budget, however many broadcasts are queued", () => {
  const a = swim("a", { peers: ["b", "c", "d"] });
  for (let i = 0; i < 500; i++) {
    a.receive("z:1", encodeMessage({ kind: MessageKind.alive, incarnation: 1, name: `n${i}`, addr: `n${i}:8301`, tags: { role: "node", dc: "dc1" } }), 0);
  }
  let packets = 0;
  for (let now = 0; now < 2_000; now += 50) {
    a.tick(now);
    for (const p of a.ready().packets) {
      packets++;
      assert.ok(p.bytes.length <= a.config.udpBufferSizeBytes, `${p.bytes.length} bytes`);
    }
  }
  assert.ok(packets > 10);
});

// ---- force-leave (serf leave intents) ----

/** Cores that all know `x` and have all declared it dead (as a crash would leave them). */
function withFailedX(names: string[]): Swim[] {
  const cores = names.map((n) => swim(n, { peers: [...names.filter((p) => p !== n), "x"] }));
  for (const c of cores) c.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "x", from: "z" }), 0);
  for (const c of cores) c.ready();
  return cores;
}

/** Runs the cores' timers (gossip rounds carry the broadcasts) with lossless delivery; returns what observer saw. */
function gossipFor(cores: Swim[], fromMs: number, toMs: number): { observer: string; event: GossipEvent }[] {
  const byAddr = new Map(cores.map((c) => [c.localMember.addr, c]));
  const seen: { observer: string; event: GossipEvent }[] = [];
  for (let now = fromMs; now <= toMs; now += 50) {
    for (const c of cores) c.tick(now);
    for (let round = 0; round < 50; round++) {
      let moved = false;
      for (const c of cores) {
        const out = c.ready();
        for (const event of out.events) seen.push({ observer: c.name, event });
        for (const p of out.packets) {
          const target = byAddr.get(p.to);
          if (!target) continue;
          moved = true;
          target.receive(c.localMember.addr, p.bytes, now);
        }
        for (const st of out.streams) {
          const target = byAddr.get(st.to);
          c.receiveStreamReply(st.id, target?.handleStream(c.localMember.addr, st.bytes, now), now);
          moved = true;
        }
      }
      if (!moved) break;
    }
  }
  return seen;
}

test("swim - force-leave turns a failed member left on every member, once, and reports the forced leave", () => {
  const cores = withFailedX(["a", "b", "c"]);
  assert.equal(cores[0].forceLeave("x", false, 10), true);
  const seen = gossipFor(cores, 10, 3_000);
  for (const c of cores) assert.equal(c.member("x")?.status, MemberStatus.left, `${c.name} sees x left`);
  const leaves = seen.filter((s) => s.event.type === "leave");
  assert.deepEqual(leaves.map((s) => s.observer).sort(), ["a", "b", "c"], "one leave event per member, however often the intent is rebroadcast");
  assert.ok(leaves.every((s) => s.event.type === "leave" && s.event.forced));
  assert.equal(cores[1].forceLeave("x", false, 3_000), true, "a second force-leave of a left member is accepted");
  assert.equal(gossipFor(cores, 3_000, 5_000).filter((s) => s.event.type === "leave").length, 0, "and changes nothing");
});

test("swim - force-leave of an unknown member is refused", () => {
  const [a] = withFailedX(["a", "b"]);
  const depth = a.stats().broadcastQueueDepth;
  assert.equal(a.forceLeave("ghost", false, 0), false);
  assert.equal(a.stats().broadcastQueueDepth, depth, "nothing is broadcast");
});

test("swim - force-leave with prune erases the member everywhere (reap events)", () => {
  const cores = withFailedX(["a", "b", "c"]);
  cores[2].forceLeave("x", true, 10);
  const seen = gossipFor(cores, 10, 3_000);
  for (const c of cores) assert.equal(c.member("x"), undefined, `${c.name} forgot x`);
  assert.deepEqual(seen.filter((s) => s.event.type === "reap").map((s) => s.observer).sort(), ["a", "b", "c"]);
});

test("swim - a live member refutes a force-leave: everyone who marked it left takes it back", () => {
  const names = ["a", "b", "x"];
  const cores = names.map((n) => swim(n, { peers: names.filter((p) => p !== n) }));
  const [a, b, x] = cores;
  // a and b wrongly believe x failed (say, a partition that just healed).
  for (const c of [a, b]) c.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "x", from: "z" }), 0);
  for (const c of cores) c.ready();
  a.forceLeave("x", false, 10);
  assert.equal(a.member("x")?.status, MemberStatus.left);
  const seen = gossipFor(cores, 10, 5_000);
  assert.ok(seen.some((s) => s.observer === "b" && s.event.type === "leave"), "b applied the intent");
  assert.ok(x.localMember.incarnation >= 2, "x out-numbered the incarnation the intent named");
  assert.equal(x.localMember.status, MemberStatus.alive);
  assert.equal(a.member("x")?.status, MemberStatus.alive);
  assert.equal(b.member("x")?.status, MemberStatus.alive);
});

test("swim - a member receiving a leave intent for itself refutes it at once", () => {
  const x = swim("x", { peers: ["a"] });
  x.receive("a:8301", encodeMessage({ kind: MessageKind.leaveIntent, ltime: 0, name: "x", incarnation: 4, prune: false }), 10);
  assert.equal(x.localMember.incarnation, 5);
  assert.equal(x.localMember.status, MemberStatus.alive);
  x.receive("a:8301", encodeMessage({ kind: MessageKind.leaveIntent, ltime: 0, name: "x", incarnation: 5, prune: false }), 10);
  assert.equal(x.localMember.incarnation, 5, "the same intent again (same Lamport time) is a duplicate");
});

test("swim - a leave intent older than the member's current incarnation is ignored", () => {
  const a = swim("a", { peers: ["x"] });
  a.receive("z:1", encodeMessage({ kind: MessageKind.alive, incarnation: 3, name: "x", addr: "x:8301", tags: {} }), 0);
  a.ready();
  const depth = a.stats().broadcastQueueDepth;
  a.receive("z:1", encodeMessage({ kind: MessageKind.leaveIntent, ltime: 4, name: "x", incarnation: 2, prune: true }), 0);
  assert.equal(a.member("x")?.status, MemberStatus.alive);
  assert.equal(a.stats().broadcastQueueDepth, depth, "a stale intent is not spread");
  a.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 3, name: "x", from: "z" }), 0);
  assert.equal(a.member("x")?.status, MemberStatus.dead, "its later death is a failure, not a leave");
});

test("swim - an intent that arrives while the member still looks alive makes its death a leave", () => {
  const a = swim("a", { peers: ["x"] });
  a.receive("z:1", encodeMessage({ kind: MessageKind.leaveIntent, ltime: 1, name: "x", incarnation: 1, prune: false }), 0);
  assert.equal(a.member("x")?.status, MemberStatus.alive);
  a.ready();
  a.receive("z:1", encodeMessage({ kind: MessageKind.dead, incarnation: 1, name: "x", from: "z" }), 5);
  const leave = eventsOf(a.ready(), "leave")[0];
  assert.equal(a.member("x")?.status, MemberStatus.left);
  assert.ok(leave && leave.type === "leave" && leave.forced);
});

test("swim - push-pull spreads a forced leave to a member that only knew the node as failed", () => {
  const [a, b] = withFailedX(["a", "b"]);
  a.forceLeave("x", false, 10);
  assert.equal(b.member("x")?.status, MemberStatus.dead, "the intent has not been gossiped yet");
  b.join(["a:8301"]);
  deliver([a, b], 20);
  assert.equal(b.member("x")?.status, MemberStatus.left);
});

test("swim - force-leave of an alive member marks it leaving at once, until its refutation arrives", () => {
  const names = ["a", "x"];
  const cores = names.map((n) => swim(n, { peers: names.filter((p) => p !== n) }));
  const [a, x] = cores;
  gossipFor(cores, 0, 100);
  assert.equal(a.member("x")?.status, MemberStatus.alive);
  assert.equal(a.member("x")?.leaving, undefined);
  a.forceLeave("x", false, 100);
  assert.equal(a.member("x")?.status, MemberStatus.alive, "still alive in the failure detector");
  assert.equal(a.member("x")?.leaving, true, "but shown leaving (serf's StatusLeaving) right after the call");
  gossipFor(cores, 100, 3_000);
  assert.ok(x.localMember.incarnation >= 2, "x refuted the intent");
  assert.equal(a.member("x")?.leaving, undefined, "the refutation takes leaving back");
  assert.equal(a.member("x")?.status, MemberStatus.alive);
});
