import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode } from "dns-packet";
import { DnsRequestHandler } from "../../../src/dns/dns-server.ts";
import { dnsSettings } from "../../../src/dns/dns-settings.ts";
import { errors } from "../../../src/errors/catalog.ts";
import type { RawApiRequest, RawApiResponse } from "../../../src/http/dispatch-request.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import type { DatacenterRouter } from "../../../src/server/datacenter-router.ts";
import { CatalogFixture, serviceFields } from "./catalog-fixture.ts";

// Names of another datacenter: the rows come through the DatacenterRouter, the records name
// that datacenter; unknown datacenter → NXDOMAIN, an unreachable one → SERVFAIL.

const fixedClock = { now: () => 1_700_000_000_000, monotonicMs: () => 0, setTimer: () => ({ cancel() {} }) };

const dc2Web = [
  {
    Node: { ID: "", Node: "far", Address: "10.2.0.7", Datacenter: "dc2", TaggedAddresses: {}, Meta: {} },
    Service: { ID: "web1", Service: "web", Tags: ["blue"], Address: "", Port: 8080, Weights: { Passing: 1, Warning: 1 }, TaggedAddresses: {}, Meta: {} },
    Checks: [{ Node: "far", CheckID: "serfHealth", Status: "passing", ServiceID: "" }],
  },
  {
    Node: { ID: "", Node: "sick", Address: "10.2.0.8", Datacenter: "dc2", TaggedAddresses: {}, Meta: {} },
    Service: { ID: "web2", Service: "web", Tags: [], Address: "", Port: 8080, Weights: { Passing: 1, Warning: 1 }, TaggedAddresses: {}, Meta: {} },
    Checks: [{ Node: "sick", CheckID: "serfHealth", Status: "critical", ServiceID: "" }],
  },
];

function fakeRouter(asked: RawApiRequest[]): DatacenterRouter {
  return {
    localDatacenter: "dc1",
    isLocal: (dc) => dc === "" || dc.toLowerCase() === "dc1",
    forward(dc: string, req: RawApiRequest): Promise<RawApiResponse> {
      asked.push(req);
      if (dc === "dc2" && req.path === "/v1/health/service/web") return Promise.resolve({ status: 200, headers: { "X-Consul-LastContact": "0" }, body: JSON.stringify(dc2Web) });
      // A server that lost touch with its leader 90 s ago: fine while ?stale, too old for max_stale 60s.
      if (dc === "dc2" && req.path === "/v1/health/service/lagging") {
        const stale = new URLSearchParams(req.rawQuery).has("stale");
        const body = stale ? "[]" : JSON.stringify(dc2Web.slice(0, 1).map((e) => ({ ...e, Service: { ...e.Service, Service: "lagging" } })));
        return Promise.resolve({ status: 200, headers: { "X-Consul-LastContact": stale ? "90000" : "0" }, body });
      }
      if (dc === "dc2" && req.path === "/v1/catalog/node/far") return Promise.resolve({ status: 200, headers: {}, body: JSON.stringify({ Node: dc2Web[0].Node, Services: {} }) });
      if (dc === "dc2") return Promise.resolve({ status: 200, headers: {}, body: req.path.startsWith("/v1/health/") ? "[]" : "null" });
      if (dc === "dc3") return Promise.reject(errors.remoteDcUnreachable());
      return Promise.reject(errors.noPathToDatacenter());
    },
  };
}

async function ask(h: DnsRequestHandler, name: string, type: "A" | "SRV" = "A"): Promise<ReturnType<typeof decode>> {
  const reply = await h.handle(encode({ type: "query", id: 9, flags: 1 << 8, questions: [{ name, type, class: "IN" }] }), "udp");
  assert.ok(reply);
  return decode(reply);
}

test("dns remote datacenter - service and node names of another datacenter are answered from its rows, named for it", async () => {
  const asked: RawApiRequest[] = [];
  const f = new CatalogFixture().register({ node: "n1", nodeAddress: "10.0.0.1", service: serviceFields("web1", "web") });
  const h = new DnsRequestHandler({ state: f.state, settings: dnsSettings({}), logger: silentLogger, rng: seededRng(1), clock: fixedClock, datacenters: fakeRouter(asked) });

  const a = await ask(h, "web.service.dc2.consul");
  assert.equal(a.rcode, "NOERROR");
  assert.deepEqual(a.answers?.map((r) => ("data" in r ? r.data : undefined)), ["10.2.0.7"], "the critical instance is left out");
  assert.deepEqual(asked.map((r) => [r.path, r.rawQuery]), [["/v1/health/service/web", "dc=dc2&stale="]]);

  const srv = await ask(h, "blue.web.service.dc2.consul", "SRV");
  assert.deepEqual(srv.answers?.map((r) => (r.type === "SRV" ? r.data.target : undefined)), ["far.node.dc2.consul"]);
  assert.deepEqual(srv.additionals?.map((r) => r.name), ["far.node.dc2.consul"]);
  assert.equal((await ask(h, "green.web.service.dc2.consul")).rcode, "NXDOMAIN");

  const node = await ask(h, "far.node.dc2.consul");
  assert.deepEqual(node.answers?.map((r) => ("data" in r ? r.data : undefined)), ["10.2.0.7"]);
  assert.equal((await ask(h, "ghost.node.dc2.consul")).rcode, "NXDOMAIN");

  // An answer older than max_stale is asked again without ?stale (the leader's is fresh).
  const before = asked.length;
  const lagging = new DnsRequestHandler({ state: f.state, settings: dnsSettings({ maxStaleMs: 60_000 }), logger: silentLogger, rng: seededRng(1), clock: fixedClock, datacenters: fakeRouter(asked) });
  assert.deepEqual((await ask(lagging, "lagging.service.dc2.consul")).answers?.map((r) => ("data" in r ? r.data : undefined)), ["10.2.0.7"]);
  assert.deepEqual(asked.slice(before).map((r) => r.rawQuery), ["dc=dc2&stale=", "dc=dc2"]);

  // This datacenter's own name stays local.
  const local = await ask(h, "web.service.dc1.consul");
  assert.deepEqual(local.answers?.map((r) => ("data" in r ? r.data : undefined)), ["10.0.0.1"]);
  assert.equal(asked.filter((r) => r.rawQuery.includes("dc1")).length, 0);
});

test("dns remote datacenter - unknown datacenter: NXDOMAIN; unreachable: SERVFAIL; allow_stale off asks without ?stale", async () => {
  const asked: RawApiRequest[] = [];
  const f = new CatalogFixture();
  const h = new DnsRequestHandler({ state: f.state, settings: dnsSettings({ allowStale: false }), logger: silentLogger, rng: seededRng(1), clock: fixedClock, datacenters: fakeRouter(asked) });
  const unknown = await ask(h, "web.service.nowhere.consul");
  assert.equal(unknown.rcode, "NXDOMAIN");
  assert.equal(unknown.authorities?.[0]?.type, "SOA");
  assert.equal((await ask(h, "web.service.dc3.consul")).rcode, "SERVFAIL");
  assert.equal(asked[0].rawQuery, "dc=nowhere");
  // Without a router (an embedding without a cluster) such names are unknown.
  const lone = new DnsRequestHandler({ state: f.state, settings: dnsSettings({}), logger: silentLogger, rng: seededRng(1), clock: fixedClock });
  assert.equal((await ask(lone, "web.service.dc2.consul")).rcode, "NXDOMAIN");
});
