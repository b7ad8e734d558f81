import { test } from "node:test";
import assert from "node:assert/strict";
import type { AgentIdentity } from "../../../src/agent/agent.ts";
import { GossipMembership, JoinFailedError } from "../../../src/agent/membership.ts";
import { startWanMembership, wanMembershipSettings } from "../../../src/agent/wan-membership.ts";
import { gossipMembershipSettings } from "../../../src/agent/membership-config.ts";
import type { AgentFlagValues } from "../../../src/config/agent-flags.ts";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import type { RuntimeConfig } from "../../../src/config/runtime-config.ts";
import { DEFAULT_LOCAL_CONFIG, DEFAULT_WAN_CONFIG } from "../../../src/gossip/config.ts";
import { agentOptionsFromConfig } from "../../../src/launch/from-config.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { MEMBER_STATUS } from "../../../src/model/members.ts";

const io: LoadOptions = {
  hostname: () => "host",
  randomUUID: () => "01234567-89ab-cdef-0123-456789abcdef",
  networkInterfaces: () => ({}),
  readFile: () => Promise.reject(new Error("no files in this test")),
};
const KEY_A = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";
const KEY_B = "H3uU9p6o1kqb8K0VJ0xW9wO0dPZ1G9eXl2m5X3cQk5o=";
const deps = { clock: systemClock, logger: silentLogger };

function identityOf(rc: RuntimeConfig): AgentIdentity {
  return { ...agentOptionsFromConfig(rc).identity, version: "1.20.0" };
}

async function settingsFor(flags: AgentFlagValues) {
  const rc = await loadRuntimeConfig({ "data-dir": "/tmp/unused", bind: "127.0.0.1", ...flags }, io);
  return { rc, settings: wanMembershipSettings(rc, identityOf(rc)) };
}

test("wan settings - a server's WAN pool: <node>.<dc> on -serf-wan-port, WAN profile, -retry-join-wan and -join-wan, the -encrypt key", async () => {
  const { settings } = await settingsFor({
    server: true,
    node: "s1",
    datacenter: "east",
    "serf-wan-port": 9302,
    "retry-join-wan": ["10.0.0.1"],
    "join-wan": ["10.0.0.2:9302"],
    encrypt: KEY_A,
    hcl: ['gossip_wan {\n  probe_interval = "6s"\n}\nretry_interval_wan = "7s"\nretry_max_wan = 3'],
  });
  assert.ok(settings);
  assert.equal(settings.nodeName, "s1.east");
  assert.equal(settings.pool, "WAN");
  assert.equal(settings.host, "127.0.0.1");
  assert.equal(settings.port, 9302);
  assert.equal(settings.fallbackToFreePort, false);
  assert.deepEqual(settings.retryJoin, ["10.0.0.1", "10.0.0.2:9302"]);
  assert.equal(settings.retryIntervalMs, 7_000);
  assert.equal(settings.retryMax, 3);
  assert.equal(settings.gossip.probeIntervalMs, 6_000);
  assert.equal(settings.gossip.probeTimeoutMs, DEFAULT_WAN_CONFIG.probeTimeoutMs);
  assert.equal(settings.gossip.pushPullIntervalMs, DEFAULT_WAN_CONFIG.pushPullIntervalMs);
  assert.equal(settings.gossip.reconnectTimeoutMs, 72 * 3_600_000);
  assert.deepEqual(settings.keyring?.keys(), [KEY_A]);
  assert.deepEqual(settings.gossipVerify, { incoming: true, outgoing: true });
  assert.equal(settings.tags.role, "consul");
  assert.equal(settings.tags.dc, "east");
  assert.equal(settings.tags.segment, undefined, "WAN members carry no LAN segment tag");
});

test("wan and lan settings - encrypt_verify_incoming/outgoing reach both gossip pools", async () => {
  const { rc, settings } = await settingsFor({ server: true, encrypt: KEY_A, hcl: ["encrypt_verify_incoming = false\nencrypt_verify_outgoing = false"] });
  assert.deepEqual(settings?.gossipVerify, { incoming: false, outgoing: false });
  assert.deepEqual(gossipMembershipSettings(rc, identityOf(rc)).gossipVerify, { incoming: false, outgoing: false });
});

test("wan settings - -serf-wan-bind and -advertise-wan: the pool binds the WAN bind address, or the WAN advertise address for an any-address bind", async () => {
  const bound = await settingsFor({ server: true, "serf-wan-bind": "127.0.0.9", "advertise-wan": "127.0.0.8" });
  assert.equal(bound.settings?.host, "127.0.0.9");
  const any = await settingsFor({ server: true, "serf-wan-bind": "0.0.0.0", "advertise-wan": "127.0.0.8" });
  assert.equal(any.settings?.host, "127.0.0.8");
  assert.equal(any.rc.advertiseAddrWan, "127.0.0.8");
});

test("wan settings - client agents and -serf-wan-port=-1 have no WAN pool; -dev runs the local profile on 8302; only embedding asks for a free-port fallback", async () => {
  assert.equal((await settingsFor({ server: false })).settings, undefined);
  assert.equal((await settingsFor({ server: true, "serf-wan-port": -1 })).settings, undefined);
  const rc = await loadRuntimeConfig({ dev: true }, io);
  const dev = wanMembershipSettings(rc, identityOf(rc));
  assert.equal(dev?.port, 8302);
  assert.equal(dev?.fallbackToFreePort, false);
  assert.equal(wanMembershipSettings(rc, identityOf(rc), true)?.fallbackToFreePort, true);
  assert.equal(dev?.gossip.probeTimeoutMs, DEFAULT_LOCAL_CONFIG.probeTimeoutMs);
});

test("wan pool - without a configuration a server's WAN pool is itself alone; a client has none", async () => {
  const identity = { nodeName: "n", nodeId: "id", datacenter: "dc1", server: true, advertiseAddr: "127.0.0.1", serverPort: 8300, serfLanPort: 8301, nodeMeta: {}, version: "1.20.0" };
  const lone = await startWanMembership(undefined, identity, deps);
  assert.deepEqual(lone?.members().map((m) => [m.name, m.port]), [["n.dc1", 8302]]);
  assert.equal(await startWanMembership(undefined, { ...identity, server: false }, deps), undefined);
});

test("wan pool - servers with the same -encrypt key federate; a server with another key cannot join", async (t) => {
  // Only the server with the other key reads its push/pull answer with a short timeout (the
  // answer never comes, so its join fails fast). The joins that must succeed keep the default
  // 10 s: at 500 ms, a loaded machine timed out the valid join ("read tcp ...: i/o timeout").
  const start = async (node: string, dc: string, key: string, tcpTimeoutMs = DEFAULT_LOCAL_CONFIG.tcpTimeoutMs): Promise<GossipMembership> => {
    const { settings } = await settingsFor({ server: true, node, datacenter: dc, encrypt: key });
    assert.ok(settings);
    const pool = await GossipMembership.start({ ...settings, port: 0, gossip: { ...DEFAULT_LOCAL_CONFIG, tcpTimeoutMs } }, deps);
    t.after(() => pool.stop());
    return pool;
  };
  const east = await start("e1", "east", KEY_A);
  const west = await start("w1", "west", KEY_A);
  const other = await start("x1", "north", KEY_B, 500);
  assert.equal(await west.join([east.gossipAddr]), 1);
  const deadline = Date.now() + 5_000;
  while (east.members().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    east.members().map((m) => [m.name, m.status, m.tags.dc]).sort(),
    [
      ["e1.east", MEMBER_STATUS.alive, "east"],
      ["w1.west", MEMBER_STATUS.alive, "west"],
    ],
  );
  await assert.rejects(other.join([east.gossipAddr]), JoinFailedError);
  assert.equal(east.members().some((m) => m.name === "x1.north"), false);
});
