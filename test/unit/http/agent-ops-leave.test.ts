import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent } from "../../support/test-agent.ts";

test("agent/leave - answers 200 empty, then the agent leaves and shuts down", async () => {
  const agent = await startTestAgent();
  // The stub waits for the client to have its answer before stopping the agent: whether the
  // client's read or the handler's short leave timer runs first is up to the machine's load,
  // and either order is correct as long as the answer was written before the listener closed.
  let replyReceived!: () => void;
  const received = new Promise<void>((resolve) => (replyReceived = resolve));
  const left = new Promise<void>((resolve) => {
    agent.running.agent.lifecycle = {
      ...agent.running.agent.lifecycle,
      leave: async () => {
        await received;
        await agent.stop();
        resolve();
      },
    };
  });
  const res = await fetch(`${agent.base}/v1/agent/leave`, { method: "PUT" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "");
  replyReceived();
  await left;
  await assert.rejects(fetch(`${agent.base}/v1/agent/self`));
});

test("agent/members - a client agent is role=node without server tags and has no WAN pool", async () => {
  const agent = await startTestAgent({}, { identity: { server: false } });
  try {
    const [m] = (await (await fetch(`${agent.base}/v1/agent/members`)).json()) as { Tags: Record<string, string> }[];
    assert.equal(m.Tags.role, "node");
    assert.equal(m.Tags.port, undefined);
    assert.equal(m.Tags.raft_vsn, undefined);
    // Consul's Agent.WANMembers is nil on a client: the body is JSON null.
    assert.equal(await (await fetch(`${agent.base}/v1/agent/members?wan=1`)).json(), null);
    const join = await fetch(`${agent.base}/v1/agent/join/10.0.0.9?wan=1`, { method: "PUT" });
    assert.equal(join.status, 500);
    assert.equal(await join.text(), "Must be a server to join WAN cluster");
    const forceLeave = await fetch(`${agent.base}/v1/agent/force-leave/gone.dc1?wan`, { method: "PUT" });
    assert.equal(forceLeave.status, 500);
    assert.equal(await forceLeave.text(), "Must be a server to force-leave a node from the WAN cluster");
    const self = (await (await fetch(`${agent.base}/v1/agent/self`)).json()) as { Stats: Record<string, Record<string, string>> };
    assert.equal(self.Stats.consul.server, "false");
    assert.equal(self.Stats.raft, undefined);
  } finally {
    await agent.stop();
  }
});
