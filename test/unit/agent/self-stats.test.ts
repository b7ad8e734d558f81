import { test } from "node:test";
import assert from "node:assert/strict";
import { agentStats, readSelfConfig } from "../../../src/agent/self-info.ts";
import type { AgentIdentity } from "../../../src/agent/agent.ts";
import { LocalLog } from "../../../src/server/consensus.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import { StateStore } from "../../../src/state/store.ts";
import { MEMBER_STATUS } from "../../../src/model/members.ts";

const client: AgentIdentity = {
  nodeName: "c1",
  nodeId: "00000000-0000-0000-0000-000000000004",
  datacenter: "dc1",
  server: false,
  advertiseAddr: "127.0.0.4",
  serverPort: 8300,
  serfLanPort: 8301,
  nodeMeta: {},
  version: "1.20.0",
};

void test("agent self Stats - a client agent of a 4-node cluster reports its known servers and every member", () => {
  const { alive, failed, left } = MEMBER_STATUS;
  const stats = agentStats(client, {
    consensus: new LocalLog(new StateMachine(new StateStore()), { serverAddress: "127.0.0.1:8300" }),
    cfg: readSelfConfig(client, {}),
    counts: { services: 0, checks: 0, checkMonitors: 0, checkTtls: 0 },
    lan: { members: [{ status: alive }, { status: alive }, { status: failed }, { status: left }], servers: 3 },
  });
  assert.equal(stats.consul?.known_servers, "3");
  assert.equal(stats.serf_lan?.members, "4");
  assert.equal(stats.serf_lan?.failed, "1");
  assert.equal(stats.serf_lan?.left, "1");
});
