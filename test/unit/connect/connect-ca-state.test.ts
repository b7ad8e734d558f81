import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { CARootFields } from "../../../src/model/connect-ca.ts";
import { restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";
import { WatchSet } from "../../../src/state/watch.ts";
import { agentUri, parseAgentUri, parseServiceUri, serviceUri } from "../../../src/connect/spiffe.ts";
import { serialColonHex } from "../../../src/connect/hex.ts";
import { parseCaConfig } from "../../../src/connect/ca-config.ts";

function root(id: string, active: boolean): CARootFields {
  return {
    ID: id,
    Name: "Consul CA Primary Cert",
    SerialNumber: 1,
    SigningKeyID: "aa",
    ExternalTrustDomain: "c",
    NotBefore: "2026-01-01T00:00:00Z",
    NotAfter: "2036-01-01T00:00:00Z",
    RootCert: "pem",
    IntermediateCerts: null,
    SigningKey: "secret",
    Active: active,
    RotatedOutAtMs: 0,
    PrivateKeyType: "ec",
    PrivateKeyBits: 256,
  };
}

const config = { ClusterID: "c", Provider: "consul", Config: { LeafCertTTL: "72h" }, ForceWithoutCrossSigning: false };

describe("Connect CA state", () => {
  it("bootstraps once, replaces roots only on a matching cas index, and wakes roots watchers", () => {
    const fsm = new StateMachine(new StateStore());
    assert.deepEqual(fsm.apply(1, { Type: "connect-ca-set", Op: "bootstrap", Config: config, Roots: [root("r1", true)] }), { ok: true, value: true });
    assert.deepEqual(fsm.apply(2, { Type: "connect-ca-set", Op: "bootstrap", Config: { ...config, ClusterID: "other" }, Roots: [root("rx", true)] }), { ok: true, value: false });
    assert.equal(fsm.state.connectCa.config()?.ClusterID, "c");
    const ws = new WatchSet();
    fsm.state.connectCa.roots(ws);
    let woke = false;
    fsm.state.hub.subscribe(ws.topics, () => (woke = true));
    assert.deepEqual(fsm.apply(3, { Type: "connect-ca-set", Op: "cas", CasIndex: 99, Config: config, Roots: [root("r2", true)] }), { ok: true, value: false });
    assert.equal(woke, false);
    assert.deepEqual(fsm.apply(4, { Type: "connect-ca-set", Op: "cas", CasIndex: 1, Config: config, Roots: [root("r1", false), root("r2", true)] }), { ok: true, value: true });
    assert.equal(woke, true);
    const rows = fsm.state.connectCa.roots();
    assert.deepEqual(rows.map((r) => [r.ID, r.Active, r.CreateIndex, r.ModifyIndex]), [["r1", false, 1, 4], ["r2", true, 4, 4]]);
    assert.equal(fsm.apply(5, { Type: "connect-ca-set", Op: "cas", CasIndex: 4, Config: config, Roots: [root("a", true), root("b", true)] }).ok, false);
    assert.deepEqual(fsm.apply(6, { Type: "connect-ca-serial" }), { ok: true, value: 1 });
    assert.deepEqual(fsm.apply(7, { Type: "connect-ca-serial" }), { ok: true, value: 2 });
  });

  it("survives a snapshot and restore, keys and serial counter included", () => {
    const fsm = new StateMachine(new StateStore());
    fsm.apply(1, { Type: "connect-ca-set", Op: "bootstrap", Config: config, Roots: [root("r1", true)] });
    fsm.apply(2, { Type: "connect-ca-serial" });
    const copy = new StateStore();
    restoreState(copy, serializeState(fsm.state));
    assert.deepEqual(copy.connectCa.dump(), fsm.state.connectCa.dump());
    assert.equal(copy.connectCa.activeRoot()?.SigningKey, "secret");
    assert.equal(new StateMachine(copy).apply(3, { Type: "connect-ca-serial" }).ok, true);
    assert.equal(copy.connectCa.serial, 2);
  });
});

describe("SPIFFE IDs and encodings", () => {
  it("round-trips service IDs and refuses others", () => {
    const uri = serviceUri({ trustDomain: "11111111-2222-3333-4444-555555555555.consul", namespace: "default", datacenter: "dc1", service: "web" });
    assert.equal(uri, "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web");
    assert.deepEqual(parseServiceUri(uri), { trustDomain: "11111111-2222-3333-4444-555555555555.consul", partition: "default", namespace: "default", datacenter: "dc1", service: "web" });
    assert.equal(parseServiceUri("spiffe://td.consul/ap/p1/ns/default/dc/dc1/svc/web")?.partition, "p1");
    assert.equal(parseServiceUri("https://td.consul/ns/default/dc/dc1/svc/web"), undefined);
    assert.equal(parseServiceUri("spiffe://td.consul/agent/client/dc/dc1/id/x"), undefined);
    const agent = { trustDomain: "td.consul", datacenter: "dc1", agent: "node a" };
    assert.deepEqual(parseAgentUri(agentUri(agent)), agent);
    assert.equal(parseAgentUri("spiffe://td.consul/ns/default/dc/dc1/svc/web"), undefined);
    assert.equal(parseAgentUri("spiffe://td.consul/agent/client/dc/dc1/id/x?q=1"), undefined);
    assert.equal(parseServiceUri("spiffe://td.consul/ns/default/dc/dc1/svc/web/extra"), undefined);
    assert.equal(parseServiceUri("not a uri"), undefined);
  });

  it("encodes serials as Consul does", () => {
    assert.equal(serialColonHex(8), "08");
    assert.equal(serialColonHex(0x1154b), "01:15:4b");
  });

  it("parses CA config in either spelling with Consul's defaults and bounds", () => {
    const s = parseCaConfig({ leaf_cert_ttl: "2h", PrivateKeyType: "rsa" });
    assert.equal(s.leafCertTtlMs, 2 * 3_600_000);
    assert.equal(s.privateKeyBits, 4096);
    assert.equal(s.csrMaxPerSecond, 50);
    assert.throws(() => parseCaConfig({ PrivateKeyType: "rsa", PrivateKeyBits: 1024 }), /RSA key length must be at least 2048 bits/);
    assert.throws(() => parseCaConfig({ PrivateKeyBits: 300 }), /EC key length must be one of/);
    assert.throws(() => parseCaConfig({ RootCertTTL: "100h" }), /root cert TTL/);
    assert.throws(() => parseCaConfig({ LeafCertTTL: "9000h" }), /leaf cert TTL must be less than 8760h0m0s/);
  });
});
