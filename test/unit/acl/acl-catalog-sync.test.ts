import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "../../../src/agent/agent.ts";
import { serverCatalogWrites } from "../../../src/agent/catalog-writes.ts";
import { AclService } from "../../../src/acl/service.ts";
import { AgentTokens } from "../../../src/acl/agent-tokens.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { Command } from "../../../src/fsm/command.ts";
import type { AclTokenFields } from "../../../src/model/acl.ts";
import { createLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { StateStore } from "../../../src/state/store.ts";
import { manualClock } from "../agent/fake-clock.ts";
import { service } from "../agent/agent-harness.ts";

// The agent's own catalog writes with ACLs (Consul's local/state.go): node info with the agent
// token, a registration with its own token, removals with the agent token; a write refused
// for its token logs "… blocked by ACLs" with the AccessorID (never the secret), counts as
// synced and nothing fails.

function tokenFields(accessor: string, secret: string, policy?: string): AclTokenFields {
  return {
    AccessorID: accessor, SecretID: secret, Description: "", Policies: policy ? [{ ID: policy, Name: "" }] : [], Roles: [], ServiceIdentities: [],
    NodeIdentities: [], TemplatedPolicies: [], Local: false, CreateTime: "2026-01-01T00:00:00Z", Hash: "",
  };
}

/** A server's agent (writes vetted against its own tables) holding `agentTokens`, logging into `out.log`. */
function serverAgent(clock: ReturnType<typeof manualClock>, agentTokens: AgentTokens, out: { log: string }) {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  let i = 0;
  const apply = (cmd: Command) => assert.equal(fsm.apply(++i, cmd).ok, true);
  apply({ Type: "acl-policy-set", Policy: { ID: "p-node", Name: "node", Description: "", Rules: `node "node-a" { policy = "write" }`, Hash: "" } });
  apply({ Type: "acl-policy-set", Policy: { ID: "p-web", Name: "web", Description: "", Rules: `service "web" { policy = "write" }`, Hash: "" } });
  apply({ Type: "acl-token-set", Token: tokenFields("00000000-0000-0000-0000-000000000002", "anonymous") });
  apply({ Type: "acl-token-set", Token: tokenFields("agent-acc", "agent-secret", "p-node") });
  apply({ Type: "acl-token-set", Token: tokenFields("web-acc", "web-secret", "p-web") });
  apply({ Type: "acl-token-set", Token: tokenFields("weak-acc", "weak-secret") });
  const consensus = new LocalLog(fsm, { serverAddress: "127.0.0.1:8300" });
  const acl = new AclService({
    tables: state.acl,
    clock,
    rng: seededRng(1),
    agentTokens,
    settings: { datacenter: "dc1", defaultPolicy: "deny", downPolicy: "extend-cache", defaultToken: "", minExpirationTtlMs: 60_000, maxExpirationTtlMs: 86_400_000 },
  });
  const agent = new Agent({
    identity: { nodeName: "node-a", nodeId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", datacenter: "dc1", server: false, advertiseAddr: "127.0.0.9", serverPort: 8300, serfLanPort: 8301, nodeMeta: { rack: "r1" }, version: "1.20.0" },
    consensus,
    state,
    clock,
    rng: seededRng(7),
    logger: createLogger({ level: "info", json: false, write: (l) => (out.log += l) }),
    catalogWrites: serverCatalogWrites(consensus, state.catalog, acl),
  });
  agent.syncTokens = agentTokens;
  return { state, consensus, agent };
}

test("node info without an agent token: refused for the anonymous token, warned with its AccessorID as Consul does, the agent runs on", async () => {
  const out = { log: "" };
  const { state, agent } = serverAgent(manualClock(Date.parse("2026-06-01T00:00:00Z")), new AgentTokens({}), out);
  try {
    await agent.start();
    assert.equal(state.catalog.getNode("node-a")?.Meta?.rack, undefined, "node info not written");
    assert.match(out.log, /\[WARN\] {2}agent: Node info update blocked by ACLs: node=node-a accessorID=00000000-0000-0000-0000-000000000002\n/);
  } finally {
    await agent.stop();
  }
});

test("anti-entropy with ACLs: tokens per write, refusals logged as Consul's warnings and not retried in a loop", async () => {
  const clock = manualClock(Date.parse("2026-06-01T00:00:00Z"));
  const agentTokens = new AgentTokens({ agent: "agent-secret" });
  const out = { log: "" };
  const { state, consensus, agent } = serverAgent(clock, agentTokens, out);
  try {
    await agent.start();
    assert.equal(state.catalog.getNode("node-a")?.Meta?.rack, "r1", "node info written with the agent token");

    await agent.addService(service({ Name: "web", ID: "web-1", Port: 80 }), { replaceExistingChecks: false, source: "api" }, "web-secret");
    assert.equal(state.catalog.getService("node-a", "web-1")?.Service, "web", "synced with the token it was registered with");

    // Neither its own token nor the default (anonymous) may write "db".
    const applied = consensus.appliedIndex();
    assert.equal(await agent.addService(service({ Name: "db", ID: "db-1", Port: 5432 }), { replaceExistingChecks: false, source: "api" }, "weak-secret").then(() => agent.syncChanges()), true);
    assert.equal(state.catalog.getService("node-a", "db-1"), undefined);
    assert.match(out.log, /\[WARN\] {2}agent: Service registration blocked by ACLs: service=db-1 accessorID=weak-acc\n/);
    assert.equal(consensus.appliedIndex(), applied, "nothing written");
    assert.equal(await agent.syncChanges(), true, "marked in sync: not retried until the next full sync");
    assert.equal(out.log.match(/blocked by ACLs/g)?.length, 1);

    // Removal goes with the agent token (node:write on its node), whatever the service's token.
    await agent.removeService("web-1");
    assert.equal(state.catalog.getService("node-a", "web-1"), undefined);

    // A removal blocked by ACLs is tried again by the next full sync.
    await agent.addService(service({ Name: "web", ID: "web-2", Port: 81 }), { replaceExistingChecks: false, source: "api" }, "web-secret");
    agentTokens.set("agent", "weak-secret");
    await agent.removeService("web-2");
    assert.match(out.log, /\[WARN\] {2}agent: Service deregistration blocked by ACLs: service=web-2 accessorID=weak-acc\n/);
    assert.equal(state.catalog.getService("node-a", "web-2")?.Service, "web");
    agentTokens.set("agent", "agent-secret");
    assert.equal(await agent.syncFull(), true);
    assert.equal(state.catalog.getService("node-a", "web-2"), undefined);
    assert.doesNotMatch(out.log, /weak-secret|web-secret|agent-secret/, "secrets are never logged");
  } finally {
    await agent.stop();
  }
});
