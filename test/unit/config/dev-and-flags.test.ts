import { test } from "node:test";
import assert from "node:assert/strict";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import { AGENT_FLAGS, flagSources, parseNodeMetaFlags } from "../../../src/config/agent-flags.ts";
import { mergeConfigs } from "../../../src/config/merge.ts";
import { CONFIG_SCHEMA } from "../../../src/config/schema.ts";
import { expandSockaddrTemplate } from "../../../src/config/sockaddr.ts";

const io: LoadOptions = {
  hostname: () => "devhost",
  randomUUID: () => "01234567-89ab-cdef-0123-456789abcdef",
  networkInterfaces: () => ({}),
  readFile: () => Promise.reject(new Error("no files in this test")),
};

void test("dev mode - one in-memory server on loopback with Consul's -dev ports", async () => {
  const rt = await loadRuntimeConfig({ dev: true }, io);
  assert.equal(rt.dev, true);
  assert.equal(rt.inMemory, true);
  assert.equal(rt.dataDir, "");
  assert.equal(rt.server, true);
  assert.equal(rt.bootstrap, false, "the banner shows Bootstrap: false in -dev");
  assert.equal(rt.selfElect, true);
  assert.equal(rt.nodeName, "devhost");
  assert.equal(rt.nodeId, "01234567-89ab-cdef-0123-456789abcdef");
  assert.equal(rt.datacenter, "dc1");
  assert.equal(rt.bindAddr, "127.0.0.1");
  assert.equal(rt.advertiseAddr, "127.0.0.1");
  assert.deepEqual(rt.clientAddrs, ["127.0.0.1"]);
  assert.deepEqual(
    { http: rt.ports.http, https: rt.ports.https, grpc: rt.ports.grpc, grpcTls: rt.ports.grpcTls, dns: rt.ports.dns, serfLan: rt.ports.serfLan, serfWan: rt.ports.serfWan, server: rt.ports.server },
    { http: 8500, https: -1, grpc: 8502, grpcTls: 8503, dns: 8600, serfLan: 8301, serfWan: 8302, server: 8300 },
  );
  assert.equal(rt.uiEnabled, true);
  assert.equal(rt.logLevel, "debug");
  assert.equal(rt.connectEnabled, true);
  assert.equal(rt.aclEnabled, false);
  assert.equal(rt.raft.electionTimeoutMs, 52);
  assert.equal(rt.gossipLan.probeIntervalMs, 100);
  assert.equal(rt.disableUpdateCheck, true);
  assert.equal(rt.skipLeaveOnInterrupt, true, "servers do not leave on SIGINT");
  assert.equal(rt.leaveOnTerminate, false);
});

void test("dev mode - user config still overrides the dev profile", async () => {
  const rt = await loadRuntimeConfig({ dev: true, hcl: ['log_level = "warn"', "ports { dns = 9600 }"], client: "0.0.0.0" }, io);
  assert.equal(rt.logLevel, "warn");
  assert.equal(rt.ports.dns, 9600);
  assert.deepEqual(rt.clientAddrs, ["0.0.0.0"]);
});

void test("defaults - Consul's documented defaults for a non-dev client", async () => {
  const rt = await loadRuntimeConfig({ "data-dir": "/nonexistent-consulate-dir", bind: "127.0.0.1" }, { ...io, statPath: () => Promise.resolve(undefined) });
  assert.equal(rt.server, false);
  assert.equal(rt.ports.grpc, -1);
  assert.equal(rt.ports.grpcTls, -1);
  assert.equal(rt.domain, "consul.");
  assert.equal(rt.logLevel, "info");
  assert.equal(rt.defaultQueryTimeMs, 300_000);
  assert.equal(rt.maxQueryTimeMs, 600_000);
  assert.equal(rt.sessionTtlMinMs, 10_000);
  assert.equal(rt.txnMaxReqLenBytes, 524288);
  assert.equal(rt.aclDefaultPolicy, "allow");
  assert.equal(rt.discoveryMaxStaleMs, 0);
  assert.equal(rt.prometheusRetentionTimeMs, 0);
  assert.equal(rt.reconnectTimeoutMs, 72 * 3_600_000);
  assert.equal(rt.uiEnabled, false);
  assert.equal(rt.enableLocalScriptChecks, false);
  assert.equal(rt.dns.udpAnswerLimit, 3);
});

void test("flags - every flag in the table is one cli.md lists, with a kind and help text", () => {
  const names = AGENT_FLAGS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const f of AGENT_FLAGS) {
    assert.ok(["bool", "string", "int", "repeatable"].includes(f.kind));
    assert.ok(f.help.length > 0);
  }
  for (const required of ["dev", "config-file", "config-dir", "hcl", "node-meta", "retry-join", "http-port", "data-dir"]) {
    assert.ok(names.includes(required as (typeof names)[number]), required);
  }
});

void test("flags - list flags merge before files, scalars after", () => {
  const { load, slices, values } = flagSources({
    dev: true,
    "retry-join": ["a"],
    join: ["b"],
    node: "n",
    "http-port": 1,
    ui: true,
    "config-file": ["x.json"],
    hcl: ["a = 1"],
  });
  assert.deepEqual(load, { dev: true, configFiles: ["x.json"], configDirs: [], configFormat: undefined, hcl: ["a = 1"], recoverTruncatedLog: false });
  assert.deepEqual(slices, { retry_join: ["a", "b"] });
  assert.deepEqual(values, { node_name: "n", ports: { http: 1 }, ui_config: { enabled: true } });
});

void test("flags - node-meta parsing", () => {
  assert.deepEqual(parseNodeMetaFlags(["k:v", "a:"]), { k: "v", a: "" });
  assert.throws(() => parseNodeMetaFlags(["kv"]), /Missing ":"/);
});

void test("merge - scalars replace, lists append, maps merge key by key", () => {
  const merged = mergeConfigs(
    { log_level: "info", retry_join: ["a"], node_meta: { x: "1" }, ports: { http: 1, dns: 2 } },
    { log_level: "warn", retry_join: ["b"], node_meta: { y: "2" }, ports: { http: 3 } },
    CONFIG_SCHEMA,
  );
  assert.deepEqual(merged, { log_level: "warn", retry_join: ["a", "b"], node_meta: { x: "1", y: "2" }, ports: { http: 3, dns: 2 } });
});

void test("sockaddr - GetInterfaceIP and GetPrivateIP templates expand from the interface table", () => {
  const table = {
    eth0: [{ address: "192.168.1.10", family: "IPv4" as const, internal: false, netmask: "255.255.255.0", mac: "", cidr: null }],
    lo: [{ address: "127.0.0.1", family: "IPv4" as const, internal: true, netmask: "255.0.0.0", mac: "", cidr: null }],
  };
  assert.equal(expandSockaddrTemplate('{{ GetInterfaceIP "eth0" }}', table), "192.168.1.10");
  assert.equal(expandSockaddrTemplate("{{GetPrivateIP}}", table), "192.168.1.10");
  assert.throws(() => expandSockaddrTemplate("{{ GetAllInterfaces | sort }}", table));
});
