import { test } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import type { RaftPeer } from "../../../src/server/raft-consensus.ts";
import { bootstrapVoters, RaftServerDiscovery, type DiscoveryRaft } from "../../../src/server/raft-server-discovery.ts";
import { raftTicksFor } from "../../../src/server/raft-timing.ts";
import { type LocalMember, MEMBER_STATUS, type MemberChange, type ServerMember } from "../../../src/model/members.ts";

class FakeRaft implements DiscoveryRaft {
  readonly nodeId: string;
  leader = false;
  fresh = true;
  readonly config = new Set<string>();
  readonly addresses = new Map<string, string>();
  bootstrappedWith: string[] | undefined;
  readonly added: string[] = [];
  readonly removed: string[] = [];
  constructor(nodeId: string) {
    this.nodeId = nodeId;
  }
  isLeader(): boolean {
    return this.leader;
  }
  isFresh(): boolean {
    return this.fresh;
  }
  hasMember(nodeId: string): boolean {
    return this.config.has(nodeId);
  }
  memberAt(address: string): string {
    for (const id of this.config) if (this.memberAddresses.get(id) === address) return id;
    return "";
  }
  /** Server address of each configured member, as the real directory remembers it. */
  readonly memberAddresses = new Map<string, string>();
  setPeerAddress(peer: RaftPeer): void {
    this.addresses.set(peer.id, peer.raftAddress);
  }
  bootstrapIfFresh(servers: readonly RaftPeer[]): Promise<boolean> {
    if (!this.fresh) return Promise.resolve(false);
    this.fresh = false;
    this.bootstrappedWith = servers.map((s) => s.id);
    for (const s of servers) this.config.add(s.id);
    return Promise.resolve(true);
  }
  addPeer(peer: RaftPeer): Promise<void> {
    this.added.push(peer.id);
    this.config.add(peer.id);
    return Promise.resolve();
  }
  removePeer(nodeId: string): Promise<void> {
    this.removed.push(nodeId);
    this.config.delete(nodeId);
    return Promise.resolve();
  }
  onLeadershipChange(): () => void {
    return () => {};
  }
}

class FakePool {
  servers: ServerMember[] = [];
  list: LocalMember[] = [];
}

function server(name: string, id: string, expect = 3): ServerMember {
  return { name, id, rpcAddr: `10.0.0.${name.slice(-1)}:8300`, expect, bootstrap: false, datacenter: "dc1" };
}

function member(name: string, id: string, status: LocalMember["status"]): LocalMember {
  return { name, addr: "10.0.0.9", port: 8301, tags: { role: "consul", id, port: "8300" }, status, protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 4 };
}

function rig(selfId: string, peersOf: (addr: string) => string[] = () => []) {
  const raft = new FakeRaft(selfId);
  const pool = new FakePool();
  const queried: string[] = [];
  const discovery = new RaftServerDiscovery({
    raft,
    membership: {
      servers: () => pool.servers,
      members: () => pool.list,
      onServersChanged: () => () => {},
      onMemberChange: (_l: (c: MemberChange) => void) => () => {},
    },
    queryPeers: (addr) => {
      queried.push(addr);
      return Promise.resolve(peersOf(addr));
    },
    bootstrapExpect: 3,
    clock: systemClock,
    logger: silentLogger,
    intervalMs: 60_000,
  });
  return { raft, pool, queried, discovery };
}

async function pass(discovery: RaftServerDiscovery): Promise<void> {
  discovery.poke();
  await discovery.idle();
}

test("bootstrap_expect - every server picks the same initial voters: the expect lowest node ids", () => {
  const a = server("s1", "c"), b = server("s2", "a"), c = server("s3", "d"), d = server("s4", "b");
  assert.deepEqual(bootstrapVoters([a, b, c, d], 3).map((s) => s.id), ["a", "b", "c"]);
  assert.deepEqual(bootstrapVoters([d, c, b, a], 3).map((s) => s.id), ["a", "b", "c"]);
});

test("bootstrap_expect - waits for expect servers, learns their addresses, then bootstraps once none reports peers", async (t) => {
  const { raft, pool, queried, discovery } = rig("a");
  discovery.start();
  t.after(() => discovery.stop());
  pool.servers = [server("s1", "a"), server("s2", "b")];
  await pass(discovery);
  assert.equal(raft.bootstrappedWith, undefined);
  assert.equal(raft.addresses.get("b"), "10.0.0.2:8300");
  pool.servers.push(server("s3", "c"));
  await pass(discovery);
  assert.deepEqual(raft.bootstrappedWith, ["a", "b", "c"]);
  assert.deepEqual(queried.sort(), ["10.0.0.2:8300", "10.0.0.3:8300"]);
});

test("bootstrap_expect - a fresh server does not bootstrap when another server already has Raft peers", async (t) => {
  const { raft, pool, discovery } = rig("a", (addr) => (addr === "10.0.0.3:8300" ? ["10.0.0.2:8300", "10.0.0.3:8300"] : []));
  discovery.start();
  t.after(() => discovery.stop());
  pool.servers = [server("s1", "a"), server("s2", "b"), server("s3", "c")];
  await pass(discovery);
  assert.equal(raft.bootstrappedWith, undefined);
  assert.equal(raft.fresh, true);
});

test("bootstrap_expect - a server with existing Raft state, a conflicting expect, or outside the initial voters does not bootstrap", async (t) => {
  const restarted = rig("a");
  restarted.raft.fresh = false;
  restarted.discovery.start();
  t.after(() => restarted.discovery.stop());
  restarted.pool.servers = [server("s1", "a"), server("s2", "b"), server("s3", "c")];
  await pass(restarted.discovery);
  assert.equal(restarted.raft.bootstrappedWith, undefined);
  assert.deepEqual(restarted.queried, []);

  const conflicting = rig("a");
  conflicting.discovery.start();
  t.after(() => conflicting.discovery.stop());
  conflicting.pool.servers = [server("s1", "a"), server("s2", "b", 5), server("s3", "c")];
  await pass(conflicting.discovery);
  assert.equal(conflicting.raft.bootstrappedWith, undefined);

  const outside = rig("d");
  outside.discovery.start();
  t.after(() => outside.discovery.stop());
  outside.pool.servers = [server("s1", "a"), server("s2", "b"), server("s3", "c"), server("s4", "d")];
  await pass(outside.discovery);
  assert.equal(outside.raft.bootstrappedWith, undefined);
});

test("raft membership - the leader adds alive servers missing from the configuration and removes servers that left; a follower changes nothing", async (t) => {
  const { raft, pool, discovery } = rig("a");
  raft.fresh = false;
  for (const id of ["a", "b", "c"]) raft.config.add(id);
  discovery.start();
  t.after(() => discovery.stop());
  pool.servers = [server("s1", "a"), server("s2", "b"), server("s4", "d")];
  pool.list = [member("s1", "a", MEMBER_STATUS.alive), member("s2", "b", MEMBER_STATUS.alive), member("s3", "c", MEMBER_STATUS.left), member("s4", "d", MEMBER_STATUS.alive)];
  await pass(discovery);
  assert.deepEqual(raft.added, []);
  assert.deepEqual(raft.removed, []);

  raft.leader = true;
  await pass(discovery);
  assert.deepEqual(raft.added, ["d"]);
  assert.deepEqual(raft.removed, ["c"]);

  // A failed server stays a voter: only a graceful leave removes it.
  pool.list = [member("s1", "a", MEMBER_STATUS.alive), member("s2", "b", MEMBER_STATUS.failed), member("s4", "d", MEMBER_STATUS.alive)];
  await pass(discovery);
  assert.deepEqual(raft.removed, ["c"]);
});

test("raft membership - a server back on its old address under a new id (data dir wiped) replaces the old id: removed first, then added", async (t) => {
  const { raft, pool, discovery } = rig("a");
  raft.fresh = false;
  raft.leader = true;
  for (const id of ["a", "b", "c"]) raft.config.add(id);
  raft.memberAddresses.set("a", "10.0.0.1:8300").set("b", "10.0.0.2:8300").set("c", "10.0.0.3:8300");
  discovery.start();
  t.after(() => discovery.stop());
  pool.servers = [server("s1", "a"), server("s2", "b"), server("s3", "c2")];
  pool.list = [member("s1", "a", MEMBER_STATUS.alive), member("s2", "b", MEMBER_STATUS.alive), member("s3", "c2", MEMBER_STATUS.alive)];
  await pass(discovery);
  assert.deepEqual(raft.removed, ["c"]);
  assert.deepEqual(raft.added, ["c2"]);
  assert.deepEqual([...raft.config].sort(), ["a", "b", "c2"]);
});

test("raft timing - Consul's default raft_multiplier 5 gives a 1 s election timeout in 100 ms ticks with a heartbeat every tick", () => {
  assert.deepEqual(raftTicksFor(5000), { tickMs: 100, electionTick: 10, heartbeatTick: 1 });
  assert.deepEqual(raftTicksFor(1000), { tickMs: 20, electionTick: 10, heartbeatTick: 1 });
  // -dev (52 ms at multiplier 1): a lone voter, fine-grained ticks.
  assert.deepEqual(raftTicksFor(52), { tickMs: 10, electionTick: 5, heartbeatTick: 1 });
});
