import { test } from "node:test";
import assert from "node:assert/strict";
import { AclService } from "../../../src/acl/service.ts";
import { ConsulError } from "../../../src/errors/catalog.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import type { ApiDispatcher } from "../../../src/http/dispatch-request.ts";
import type { AclTokenFields } from "../../../src/model/acl.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import type { Consensus } from "../../../src/server/consensus.ts";
import { LeaderForwardingConsensus, RpcMethod } from "../../../src/server/leader-forwarding.ts";
import { serverRpcHandlers } from "../../../src/server/rpc-endpoints.ts";
import { StateStore } from "../../../src/state/store.ts";
import { RpcPool } from "../../../src/transport/rpc-client.ts";
import { RpcError } from "../../../src/transport/rpc.ts";

// The server side of "client agents pass the caller's token and servers decide": a client's
// catalog writes arrive as Catalog.Register with a token and are vetted here; Raft.Apply is
// taken only from servers forwarding to the leader; ACL.ResolveToken answers from this
// server's tables without the secret.

function tokenFields(accessor: string, secret: string, extra: Partial<AclTokenFields> = {}): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: secret, Description: "", Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [],
    TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "", ...extra,
  };
}

function leaderOver(fsm: StateMachine): Consensus {
  let index = 100;
  return {
    propose: (cmd: Command) => {
      index++;
      return Promise.resolve({ index, result: fsm.apply(index, cmd) });
    },
    isLeader: () => true,
    leaderAddress: () => "127.0.0.1:8300",
    lastContactMs: () => 0,
    peers: () => [],
    appliedIndex: () => index,
    readBarrier: () => Promise.resolve(),
    onLeadershipChange: () => () => {},
  };
}

const register: Command = {
  Type: "catalog-register",
  Node: { ID: "", Node: "client-1", Address: "127.0.0.2", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} },
  SkipNodeUpdate: false,
  Checks: [],
};

test("server RPC with ACLs: Catalog.Register is vetted with the caller's token, Raft.Apply only from servers, ACL.ResolveToken without the secret", async () => {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let i = 0;
  const apply = (cmd: Command) => assert.equal(fsm.apply(++i, cmd).ok, true);
  apply({ Type: "acl-policy-set", Policy: { ID: "p1", Name: "node-write", Description: "", Rules: `node_prefix "" { policy = "write" }`, Hash: "" } });
  apply({ Type: "acl-token-set", Token: tokenFields("00000000-0000-0000-0000-000000000002", "anonymous") });
  apply({ Type: "acl-token-set", Token: tokenFields("agent-acc", "agent-secret", { Policies: [{ ID: "p1", Name: "" }] }) });
  apply({ Type: "acl-token-set", Token: tokenFields("weak-acc", "weak-secret") });
  const settings = { datacenter: "dc1", defaultPolicy: "deny" as const, downPolicy: "extend-cache", defaultToken: "", minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 };
  const acl = new AclService({ tables: state.acl, clock: systemClock, rng: seededRng(1), settings });
  const pool = new RpcPool({ clock: systemClock, rng: seededRng(1) });
  const consensus = new LeaderForwardingConsensus(leaderOver(fsm), pool);
  const handlers = serverRpcHandlers({ consensus, dispatcher: {} as ApiDispatcher, logger: silentLogger, catalog: state.catalog, acl });
  const call = { signal: new AbortController().signal, remoteAddress: "127.0.0.2" };
  const rpc = (method: string, args: unknown) => Promise.resolve().then(() => handlers.get(method)!(args, call));

  await assert.rejects(rpc(RpcMethod.Apply, { cmd: register, forwarded: false }), (e: unknown) => e instanceof RpcError && /for servers/.test(e.message));
  assert.equal(state.catalog.getNode("client-1"), undefined, "nothing applied");

  await assert.rejects(
    rpc(RpcMethod.CatalogRegister, { cmd: register, token: "weak-secret" }),
    (e: unknown) => e instanceof ConsulError && e.code === "PermissionDenied" && e.message === `Permission denied: token with AccessorID 'weak-acc' lacks permission 'node:write' on "client-1"`,
  );
  await assert.rejects(rpc(RpcMethod.CatalogRegister, { cmd: register, token: "" }), (e: unknown) => e instanceof ConsulError && e.code === "PermissionDenied", "no token is anonymous");
  await assert.rejects(rpc(RpcMethod.CatalogRegister, { cmd: register, token: "made-up" }), (e: unknown) => e instanceof ConsulError && e.code === "AclNotFound");
  await assert.rejects(rpc(RpcMethod.CatalogRegister, { cmd: { Type: "kv-set", Key: "x" }, token: "agent-secret" }), (e: unknown) => e instanceof RpcError, "only catalog commands");
  assert.equal(state.catalog.getNode("client-1"), undefined);
  const reply = (await rpc(RpcMethod.CatalogRegister, { cmd: register, token: "agent-secret" })) as { result: { ok: boolean } };
  assert.equal(reply.result.ok, true);
  assert.equal(state.catalog.getNode("client-1")?.Address, "127.0.0.2");

  const found = (await rpc(RpcMethod.AclResolveToken, { secret: "agent-secret" })) as { found: boolean; token: { AccessorID: string; SecretID: string }; policies: { ID: string }[] };
  assert.equal(found.found, true);
  assert.equal(found.token.AccessorID, "agent-acc");
  assert.equal(found.token.SecretID, "");
  assert.deepEqual(found.policies.map((p) => p.ID), ["p1"]);
  assert.deepEqual(await rpc(RpcMethod.AclResolveToken, { secret: "made-up" }), { found: false });
  pool.close();
});
