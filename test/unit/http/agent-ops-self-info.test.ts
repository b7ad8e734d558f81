import { test } from "node:test";
import assert from "node:assert/strict";
import type { AgentIdentity } from "../../../src/agent/agent.ts";
import { BUILD_INFO, debugConfig, lanMember, readSelfConfig, sanitizeConfig, wanMember } from "../../../src/agent/self-info.ts";
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

test("agent/self - DebugConfig hides secrets as Consul's Sanitized() does", () => {
  const out = sanitizeConfig({
    nodeName: "n1",
    encryptKey: "c2VjcmV0",
    aclTokens: { agent: "abc", default: "" },
    ports: { http: 8500 },
  });
  assert.deepEqual(out, { nodeName: "n1", encryptKey: "hidden", aclTokens: { agent: "hidden", default: "" }, ports: { http: 8500 } });
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
  const debug = debugConfig(rc) as { ports: Record<string, number>; listenAddrs: Record<string, string[]> };
  assert.deepEqual(debug.ports, { http: 8500, https: 8501, grpc: -1, grpcTls: -1, dns: 8600, serfLan: 8301 });
  assert.deepEqual(debug.listenAddrs, { dns: ["127.0.0.1"], http: ["127.0.0.1"], https: ["127.0.0.1"], grpc: [] });
  assert.deepEqual(rc.ports.grpc, 8502, "the configuration itself is left alone");
  const noWan = lanMember(identity, readSelfConfig(identity, { ports: { serfWan: -1 } }));
  assert.equal(noWan.tags.wan_join_port, undefined, "no WAN pool listens with ports.serf_wan = -1");
});
