import { test } from "node:test";
import assert from "node:assert/strict";
import type { AgentIdentity } from "../../../src/agent/agent.ts";
import { BUILD_INFO, lanMember, readSelfConfig, wanMember } from "../../../src/agent/self-info.ts";
import { debugConfig } from "../../../src/agent/debug-config.ts";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import { xdsServerRuns } from "../../../src/agent/open-ports.ts";

const identity: AgentIdentity = {
  nodeName: "n1",
  nodeId: "9d754d17-d864-b1d3-e758-f3fe25a9874f",
  datacenter: "dc2",
  server: true,
  advertiseAddr: "10.0.0.1",
  serverPort: 8300,
  serfLanPort: 8301,
  nodeMeta: {},
  version: "1.20.0",
};

test("agent/members - tags follow the configuration: bootstrap, expect, acls, wan_join_port", () => {
  const cfg = readSelfConfig(identity, {
    bootstrap: true,
    bootstrapExpect: 3,
    aclEnabled: true,
    ports: { serfWan: 9302, grpc: 8502, grpcTls: 8503 },
    advertiseAddrWan: "203.0.113.5",
  });
  const lan = lanMember(identity, cfg);
  assert.equal(lan.tags.bootstrap, "1");
  assert.equal(lan.tags.expect, "3");
  assert.equal(lan.tags.acls, "1");
  assert.equal(lan.tags.wan_join_port, "9302");
  assert.equal(lan.tags.build, `1.20.0:${BUILD_INFO.revision.slice(0, 8)}`);
  const wan = wanMember(identity, cfg);
  assert.equal(wan?.name, "n1.dc2");
  assert.equal(wan?.addr, "203.0.113.5");
  assert.equal(wan?.port, 9302);
  assert.equal(wan?.tags.segment, undefined);
});

test("agent/members - without configuration the defaults hold (no grpc tags, WAN port 8302, acls=0)", () => {
  const cfg = readSelfConfig(identity, {});
  const lan = lanMember(identity, cfg);
  assert.equal(lan.tags.grpc_port, undefined);
  assert.equal(lan.tags.acls, "0");
  assert.equal(lan.tags.wan_join_port, "8302");
  assert.equal(cfg.primaryDatacenter, "dc2");
});

test("agent/self - BuildDate is RFC 3339", () => {
  assert.match(BUILD_INFO.buildDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

const io: LoadOptions = {
  hostname: () => "devhost",
  randomUUID: () => "01234567-89ab-cdef-0123-456789abcdef",
  networkInterfaces: () => ({}),
  readFile: () => Promise.reject(new Error("no files in this test")),
};

test("agent/self - DebugConfig speaks Consul's RuntimeConfig names, Go durations and addresses, secrets hidden as Sanitized() does", async () => {
  const hcl = [
    'node_name = "n1"',
    'encrypt = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="',
    'acl {\n enabled = true\n default_policy = "deny"\n tokens {\n initial_management = "root"\n agent = "abc"\n }\n}',
    'node_meta {\n api_key = "k1"\n rack = "r1"\n}',
    'retry_join = ["provider=aws tag_key=consul secret_access_key=s3cr3t"]',
    "enable_debug = true",
  ];
  const rc = await loadRuntimeConfig({ dev: true, hcl }, io);
  const debug = debugConfig({ ...rc });
  assert.equal(debug.NodeName, "n1");
  assert.equal(debug.Datacenter, "dc1");
  assert.equal(debug.DevMode, true);
  assert.equal(debug.ServerMode, true);
  assert.equal(debug.ACLsEnabled, true);
  assert.equal(debug.EnableDebug, true);
  assert.equal(debug.HTTPPort, 8500);
  assert.equal(debug.DNSPort, 8600);
  assert.deepEqual(debug.HTTPAddrs, ["tcp://127.0.0.1:8500"]);
  assert.deepEqual(debug.DNSAddrs, ["tcp://127.0.0.1:8600", "udp://127.0.0.1:8600"]);
  assert.equal(debug.GRPCPort, -1, "no gRPC server runs, so none is reported");
  assert.deepEqual(debug.GRPCAddrs, []);
  assert.equal(debug.RPCAdvertiseAddr, "tcp://127.0.0.1:8300");
  assert.equal(debug.MaxQueryTime, "10m0s");
  assert.equal(debug.DefaultQueryTime, "5m0s");
  assert.deepEqual(debug.ACLResolverSettings, {
    ACLDefaultPolicy: "deny",
    ACLDownPolicy: "extend-cache",
    ACLPolicyTTL: "30s",
    ACLRoleTTL: "30s",
    ACLTokenTTL: "30s",
    ACLsEnabled: true,
    Datacenter: "dc1",
    NodeName: "n1",
  });
  // Secrets: hidden whether set or not, like Consul's string fields named key/token/secret.
  assert.equal(debug.EncryptKey, "hidden");
  assert.equal(debug.ACLInitialManagementToken, "hidden");
  const tokens = debug.ACLTokens as Record<string, unknown>;
  assert.equal(tokens.ACLAgentToken, "hidden");
  assert.equal(tokens.ACLDefaultToken, "hidden");
  assert.deepEqual(debug.NodeMeta, { api_key: "hidden", rack: "r1" });
  assert.deepEqual(debug.RetryJoinLAN, ["provider=aws tag_key=hidden secret_access_key=hidden"]);
  const tls = debug.TLS as Record<string, Record<string, unknown>>;
  assert.equal(tls.HTTPS.KeyFile, "hidden");
  assert.equal((debug.Logging as Record<string, unknown>).LogLevel, "DEBUG", "-dev logs at DEBUG");
  const text = JSON.stringify(debug);
  assert.doesNotMatch(text, /root|"abc"|s3cr3t|pUqJrVyVRj5/, "no secret value shows anywhere");
  // Every top-level key is a PascalCase Go field name, sorted as Go writes a map.
  const keys = Object.keys(debug);
  assert.deepEqual(keys, [...keys].sort());
  for (const k of keys) assert.match(k, /^[A-Z][A-Za-z0-9]*$/, k);
  assert.equal("merged" in debug || "warnings" in debug || "nodeName" in debug, false, "our own internals are not reported");
});

test("agent/self describes no port that is not open: no gRPC tags, no xDS, DebugConfig shows gRPC disabled (HTTPS listens when configured)", () => {
  const rc = {
    ports: { http: 8500, https: 8501, grpc: 8502, grpcTls: 8503, dns: 8600, serfLan: 8301 },
    listenAddrs: { dns: ["127.0.0.1"], http: ["127.0.0.1"], https: ["127.0.0.1"], grpc: ["127.0.0.1"] },
  };
  const cfg = readSelfConfig(identity, rc);
  const lan = lanMember(identity, cfg);
  assert.equal(lan.tags.grpc_port, undefined, "no gRPC server listens");
  assert.equal(lan.tags.grpc_tls_port, undefined);
  assert.equal(wanMember(identity, cfg)?.tags.grpc_tls_port, undefined);
  assert.equal(xdsServerRuns(rc.ports), false, "so /v1/agent/self has no xDS section");
  const debug = debugConfig(rc);
  assert.deepEqual(
    [debug.HTTPPort, debug.HTTPSPort, debug.GRPCPort, debug.GRPCTLSPort, debug.DNSPort, debug.SerfPortLAN],
    [8500, 8501, -1, -1, 8600, 8301],
  );
  assert.deepEqual(debug.HTTPSAddrs, ["tcp://127.0.0.1:8501"]);
  assert.deepEqual(debug.GRPCAddrs, []);
  assert.deepEqual(debug.GRPCTLSAddrs, []);
  assert.deepEqual(rc.ports.grpc, 8502, "the configuration itself is left alone");
  const noWan = lanMember(identity, readSelfConfig(identity, { ports: { serfWan: -1 } }));
  assert.equal(noWan.tags.wan_join_port, undefined, "no WAN pool listens with ports.serf_wan = -1");
});
