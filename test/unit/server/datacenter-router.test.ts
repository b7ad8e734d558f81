import { test } from "node:test";
import assert from "node:assert/strict";
import { ConsulError } from "../../../src/errors/catalog.ts";
import type { ApiRequest } from "../../../src/http/context.ts";
import type { RawApiRequest, RawApiResponse } from "../../../src/http/dispatch-request.ts";
import { MEMBER_STATUS, type LocalMember, type MemberStatus } from "../../../src/model/members.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import {
  datacenterRequestForwarder,
  requestedDatacenter,
  ViaServerDatacenterRouter,
  WanDatacenterRouter,
  withDatacenter,
} from "../../../src/server/datacenter-router.ts";
import { RpcMethod, type HttpForwardArgs } from "../../../src/server/leader-forwarding.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { startRpcServer, type RunningRpcServer } from "../../../src/transport/rpc-server.ts";

function wanMember(name: string, dc: string, addr: string, rpcPort: number, status: MemberStatus = MEMBER_STATUS.alive): LocalMember {
  return {
    name,
    addr,
    port: 8302,
    tags: { role: "consul", dc, port: String(rpcPort) },
    status,
    protocolMin: 1,
    protocolMax: 5,
    protocolCur: 2,
    delegateMin: 2,
    delegateMax: 5,
    delegateCur: 4,
  };
}

/** A server of another datacenter: answers HTTP.Forward with the request it saw. */
async function remoteServer(label: string, seen: HttpForwardArgs[]): Promise<RunningRpcServer> {
  return startRpcServer({
    host: "127.0.0.1",
    port: 0,
    handlers: new Map([
      [
        RpcMethod.HttpForward,
        (args: unknown): RawApiResponse => {
          seen.push(args as HttpForwardArgs);
          return { status: 200, headers: { "X-Consul-Index": "42", "X-Served-By": label }, body: "[]" };
        },
      ],
    ]),
    logger: silentLogger,
    maxConnections: 16,
    maxInFlightPerConnection: 64,
  });
}

const kvGet: RawApiRequest = { method: "GET", path: "/v1/kv/a", rawQuery: "dc=dc2&stale", headers: {}, body: undefined, remoteAddress: "127.0.0.1" };

function router(members: LocalMember[], pool: RpcPool): WanDatacenterRouter {
  return new WanDatacenterRouter({ localDatacenter: "dc1", wan: { members: () => members }, poolFor: () => pool, logger: silentLogger });
}

test("datacenter router - a request for another datacenter reaches one of its alive servers as HTTP.Forward, marked as from another datacenter", async (t) => {
  const seen: HttpForwardArgs[] = [];
  const server = await remoteServer("s2", seen);
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(1), defaultPort: 8300 });
  t.after(async () => {
    pool.close();
    await server.close();
  });
  const members = [wanMember("s1.dc1", "dc1", "127.0.0.1", 1), wanMember("s2.dc2", "dc2", "127.0.0.1", server.address.port)];
  const r = router(members, pool);
  const reply = await r.forward("DC2", kvGet);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["X-Consul-Index"], "42");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].fromOtherDatacenter, true);
  assert.equal(seen[0].forwarded, false);
  assert.equal(seen[0].req.rawQuery, "dc=dc2&stale");
  assert.deepEqual(r.datacenters(), ["dc1", "dc2"]);
  assert.equal(r.isLocal(""), true);
  assert.equal(r.isLocal("DC1"), true);
  assert.equal(r.isLocal("dc2"), false);
});

test("datacenter router - a server that refuses the connection moves to the back and the next one answers", async (t) => {
  const seen: HttpForwardArgs[] = [];
  const server = await remoteServer("b", seen);
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(2), defaultPort: 8300 });
  t.after(async () => {
    pool.close();
    await server.close();
  });
  // "127.0.0.1:1" sorts first and nothing listens there (port 1 on loopback refuses at once).
  const members = [wanMember("a.dc2", "dc2", "127.0.0.1", 1), wanMember("b.dc2", "dc2", "127.0.0.1", server.address.port)];
  const r = router(members, pool);
  assert.deepEqual(r.serversOf("dc2"), ["127.0.0.1:1", `127.0.0.1:${server.address.port}`]);
  const reply = await r.forward("dc2", kvGet);
  assert.equal(reply.headers["X-Served-By"], "b");
  assert.deepEqual(r.serversOf("dc2"), [`127.0.0.1:${server.address.port}`, "127.0.0.1:1"]);
});

test("datacenter router - unknown datacenter: No path to datacenter; known but no alive server: Remote DC has no server currently reachable", async () => {
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(4), defaultPort: 8300 });
  try {
    const members = [wanMember("s2.dc2", "dc2", "127.0.0.1", 1, MEMBER_STATUS.failed), wanMember("s3.dc3", "dc3", "127.0.0.1", 1, MEMBER_STATUS.left)];
    const r = router(members, pool);
    await assert.rejects(r.forward("nowhere", kvGet), (e: unknown) => e instanceof ConsulError && e.statusCode === 500 && e.message === "No path to datacenter");
    await assert.rejects(r.forward("dc3", kvGet), (e: unknown) => e instanceof ConsulError && e.message === "No path to datacenter");
    await assert.rejects(r.forward("dc2", kvGet), (e: unknown) => e instanceof ConsulError && e.statusCode === 500 && e.message === "Remote DC has no server currently reachable");
  } finally {
    pool.close();
  }
});

test("datacenter router - the per-DC lists are rebuilt when the WAN pool reports a change", () => {
  const members = [wanMember("s2.dc2", "dc2", "127.0.0.1", 7000)];
  let notify = (): void => {};
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(5), defaultPort: 8300 });
  const r = new WanDatacenterRouter({
    localDatacenter: "dc1",
    wan: {
      members: () => members,
      onMemberChange: (listener) => {
        notify = listener;
        return () => {};
      },
    },
    poolFor: () => pool,
    logger: silentLogger,
  });
  assert.deepEqual(r.serversOf("dc2"), ["127.0.0.1:7000"]);
  members.push(wanMember("s3.dc2", "dc2", "127.0.0.3", 7000));
  assert.deepEqual(r.serversOf("dc2"), ["127.0.0.1:7000"], "cached until told");
  notify();
  assert.deepEqual(r.serversOf("dc2"), ["127.0.0.1:7000", "127.0.0.3:7000"]);
  members[0] = wanMember("s2.dc2", "dc2", "127.0.0.1", 7000, MEMBER_STATUS.failed);
  notify();
  assert.deepEqual(r.serversOf("dc2"), ["127.0.0.3:7000"]);
  pool.close();
});

function apiRequest(method: string, path: string, query: Record<string, string>, body?: string): ApiRequest {
  return { method, path, suffix: "", query, rawQuery: new URLSearchParams(query).toString(), headers: {}, body: body === undefined ? undefined : Buffer.from(body), remoteAddress: "", agentNode: "node1" };
}

test("datacenter router - which datacenter a request names: ?dc=, a catalog write's body, never on agent-local paths", () => {
  assert.equal(requestedDatacenter(apiRequest("GET", "/v1/kv/a", { dc: "dc2" })), "dc2");
  assert.equal(requestedDatacenter(apiRequest("GET", "/v1/kv/a", {})), "");
  assert.equal(requestedDatacenter(apiRequest("PUT", "/v1/catalog/register", {}, '{"Datacenter":"dc3","Node":"n"}')), "dc3");
  assert.equal(requestedDatacenter(apiRequest("PUT", "/v1/catalog/register", { dc: "dc2" }, '{"Datacenter":"dc3"}')), "dc2");
  assert.equal(requestedDatacenter(apiRequest("PUT", "/v1/catalog/register", {}, "not json")), "");
  assert.equal(requestedDatacenter(apiRequest("PUT", "/v1/catalog/register", {}, '{"Node":"n","Address":"a"}')), "");
  // A key written with escapes is the same key (the quick byte check must not skip it).
  assert.equal(requestedDatacenter(apiRequest("PUT", "/v1/catalog/register", {}, '{"D\\u0061tacenter":"dc4"}')), "dc4");
  assert.equal(requestedDatacenter(apiRequest("PUT", "/v1/event/fire/x", { dc: "dc2" })), "dc2");
  for (const path of ["/v1/agent/self", "/v1/catalog/datacenters", "/v1/coordinate/datacenters", "/v1/event/list", "/v1/operator/keyring"]) {
    assert.equal(requestedDatacenter(apiRequest("GET", path, { dc: "dc2" })), "", path);
  }
  assert.equal(withDatacenter("index=5&wait=1s", "dc3"), "index=5&wait=1s&dc=dc3");
  assert.equal(withDatacenter("dc=dc2&stale=", "dc3"), "dc=dc3&stale=");
});

test("datacenter router - the HTTP forwarder: local names follow the local policy, others go to the router, a request from another datacenter never hops again", async () => {
  const sent: { dc: string; req: RawApiRequest }[] = [];
  const r = new ViaServerDatacenterRouter("dc1", (req) => {
    sent.push({ dc: new URLSearchParams(req.rawQuery).get("dc") ?? "", req });
    return Promise.resolve({ status: 200, headers: {}, body: "remote" });
  });
  const localAnswers: string[] = [];
  const forwarder = datacenterRequestForwarder(r, (req) => {
    localAnswers.push(req.path);
    return Promise.resolve(undefined);
  });
  const signal = (): AbortSignal => new AbortController().signal;
  assert.equal(await forwarder(apiRequest("GET", "/v1/kv/a", { dc: "DC1" }), { signal }), undefined);
  assert.equal(await forwarder(apiRequest("GET", "/v1/kv/b", {}), { signal }), undefined);
  assert.deepEqual(localAnswers, ["/v1/kv/a", "/v1/kv/b"]);
  const remote = await forwarder(apiRequest("GET", "/v1/kv/c", { dc: "dc2", index: "7" }), { signal });
  assert.equal(remote?.body, "remote");
  assert.equal(sent[0].dc, "dc2");
  assert.match(sent[0].req.rawQuery, /index=7/);
  await assert.rejects(Promise.resolve(forwarder(apiRequest("GET", "/v1/kv/c", { dc: "dc3" }), { signal, fromOtherDatacenter: true })), /No path to datacenter/);
  // Without a local policy (a lone dev server) a local request is answered here.
  assert.equal(await datacenterRequestForwarder(r, undefined)(apiRequest("GET", "/v1/kv/a", {}), { signal }), undefined);
});
