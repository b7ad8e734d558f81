import { test } from "node:test";
import assert from "node:assert/strict";
import { GossipMembership, JoinFailedError, type GossipMembershipSettings } from "../../../src/agent/membership.ts";
import { DEFAULT_LOCAL_CONFIG, gossipConfig } from "../../../src/gossip/config.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { freePort } from "../../support/agent-process.ts";
import { MEMBER_STATUS, type MemberChange, type ServerMember } from "../../../src/model/members.ts";

const FAST = gossipConfig({ probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 20, suspicionMult: 1 }, DEFAULT_LOCAL_CONFIG);
const PROTOCOL = { protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 4 };

function settings(name: string, tags: Record<string, string>, extra: Partial<GossipMembershipSettings> = {}): GossipMembershipSettings {
  return {
    nodeName: name,
    datacenter: "dc1",
    host: "127.0.0.1",
    port: 0,
    fallbackToFreePort: false,
    tags: { dc: "dc1", ...tags },
    gossip: FAST,
    retryJoin: [],
    retryIntervalMs: 20,
    retryMax: 0,
    protocol: PROTOCOL,
    ...extra,
  };
}

async function until(what: string, ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const deps = { clock: systemClock, logger: silentLogger };

test("membership - retry-join forms a pool; members are alive (Status 1) with their tags and gossip port", async (t) => {
  const server = await GossipMembership.start(settings("srv", { role: "consul", port: "8300", expect: "3", id: "s-id" }), deps);
  t.after(() => server.stop());
  const client = await GossipMembership.start(settings("cli", { role: "node" }, { retryJoin: [server.gossipAddr] }), deps);
  t.after(() => client.stop());
  await until("both see two members", () => server.members().length === 2 && client.members().length === 2);
  assert.equal(client.retryJoinPhase, "joined");
  const seen = server.members().find((m) => m.name === "cli");
  assert.ok(seen);
  assert.equal(seen.status, MEMBER_STATUS.alive);
  assert.equal(seen.addr, "127.0.0.1");
  assert.equal(`${seen.addr}:${seen.port}`, client.gossipAddr);
  assert.equal(seen.tags.role, "node");
  assert.deepEqual(client.servers(), [{ name: "srv", id: "s-id", rpcAddr: "127.0.0.1:8300", expect: 3, bootstrap: false, datacenter: "dc1" }]);
});

test("membership - onServersChanged reports servers joining; onMemberChange reports a graceful leave as left (Status 3)", async (t) => {
  const a = await GossipMembership.start(settings("a", { role: "node" }), deps);
  t.after(() => a.stop());
  const serverLists: ServerMember[][] = [];
  const changes: MemberChange[] = [];
  a.onServersChanged((s) => serverLists.push(s));
  a.onMemberChange((c) => changes.push(c));
  const b = await GossipMembership.start(settings("b", { role: "consul", port: "9300" }), deps);
  t.after(() => b.stop());
  assert.equal(await a.join([b.gossipAddr]), 1);
  await until("server seen", () => serverLists.length > 0);
  assert.equal(serverLists[0][0].rpcAddr, "127.0.0.1:9300");
  await b.leave();
  await until("b left", () => a.members().find((m) => m.name === "b")?.status === MEMBER_STATUS.left);
  assert.ok(changes.some((c) => c.name === "b" && c.status === "left"));
  await until("servers list emptied", () => serverLists.at(-1)?.length === 0);
});

test("membership - a member that stops answering is failed (Status 4); force-leave turns it left", async (t) => {
  const a = await GossipMembership.start(settings("a", { role: "consul", port: "8300" }), deps);
  t.after(() => a.stop());
  const b = await GossipMembership.start(settings("b", { role: "node" }), deps);
  await a.join([b.gossipAddr]);
  await until("joined", () => a.members().length === 2);
  await b.stop();
  await until("b failed", () => a.members().find((m) => m.name === "b")?.status === MEMBER_STATUS.failed, 10_000);
  assert.equal(a.forceLeave("ghost", false), false);
  assert.equal(a.forceLeave("b", false), true);
  assert.equal(a.members().find((m) => m.name === "b")?.status, MEMBER_STATUS.left);
  assert.equal(a.forceLeave("b", true), true);
  assert.equal(a.members().some((m) => m.name === "b"), false, "prune forgets it");
});

test("membership - a user event fired on one member is delivered on every member, the sender included", async (t) => {
  const a = await GossipMembership.start(settings("a", { role: "node" }), deps);
  t.after(() => a.stop());
  const b = await GossipMembership.start(settings("b", { role: "node" }), deps);
  t.after(() => b.stop());
  await b.join([a.gossipAddr]);
  const atA: string[] = [];
  const atB: string[] = [];
  a.onUserEvent((e) => atA.push(`${e.name}=${Buffer.from(e.payload).toString()}`));
  b.onUserEvent((e) => atB.push(`${e.name}=${Buffer.from(e.payload).toString()}`));
  b.fireUserEvent("consul:event:deploy", Buffer.from("v2"));
  await until("delivered", () => atA.length === 1 && atB.length === 1);
  assert.deepEqual(atA, ["consul:event:deploy=v2"]);
  assert.deepEqual(atB, ["consul:event:deploy=v2"]);
});

test("membership - joining an address nobody answers is memberlist's 1 error occurred", async (t) => {
  const a = await GossipMembership.start(settings("a", { role: "node" }), deps);
  t.after(() => a.stop());
  const port = await freePort();
  await assert.rejects(a.join([`127.0.0.1:${port}`]), (e: unknown) => {
    assert.ok(e instanceof JoinFailedError);
    assert.match(e.message, new RegExp(`^1 error occurred:\\n\\t\\* Failed to join 127\\.0\\.0\\.1:${port}: `));
    return true;
  });
  assert.equal(await a.join([a.gossipAddr]), 1, "joining yourself succeeds");
});

test("membership - retry-join gives up after retry_max attempts", async (t) => {
  const port = await freePort();
  let exhausted: Error | undefined;
  const a = await GossipMembership.start(settings("a", { role: "node" }, { retryJoin: [`127.0.0.1:${port}`], retryMax: 2 }), {
    ...deps,
    onRetryJoinExhausted: (e) => (exhausted = e),
  });
  t.after(() => a.stop());
  await until("exhausted", () => exhausted !== undefined);
  assert.equal(exhausted?.message, "agent: max join retry exhausted");
  assert.equal(a.retryJoinPhase, "exhausted");
});

test("membership - force-leave of an alive member shows it leaving (Status 2) right away, until it refutes", async (t) => {
  const a = await GossipMembership.start(settings("a", { role: "consul", port: "8300" }), deps);
  t.after(() => a.stop());
  const b = await GossipMembership.start(settings("b", { role: "node" }), deps);
  t.after(() => b.stop());
  await a.join([b.gossipAddr]);
  await until("joined", () => a.members().length === 2);
  assert.equal(a.forceLeave("b", false), true);
  assert.equal(a.members().find((m) => m.name === "b")?.status, MEMBER_STATUS.leaving);
  await until("b refuted", () => a.members().find((m) => m.name === "b")?.status === MEMBER_STATUS.alive, 10_000);
});
