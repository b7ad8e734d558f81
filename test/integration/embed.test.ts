import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import dnsPacket from "dns-packet";
import { startDevAgent } from "../../src/mod.ts";

test("startDevAgent - an in-process dev agent on free ports answers HTTP and DNS, and stop() frees them", async () => {
  const agent = await startDevAgent({ nodeName: "embedded" });
  try {
    assert.match(agent.httpAddress, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await (await fetch(`${agent.httpAddress}/v1/status/leader`)).json(), "127.0.0.1:8300");
    await fetch(`${agent.httpAddress}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "web", Port: 80 }) });
    assert.ok(agent.dnsPort);
    const socket = createSocket("udp4");
    const answer = await new Promise<dnsPacket.Packet>((resolve, reject) => {
      socket.once("message", (msg) => resolve(dnsPacket.decode(msg)));
      socket.once("error", reject);
      socket.send(dnsPacket.encode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "embedded.node.consul" }] }), agent.dnsPort!, "127.0.0.1");
    });
    socket.close();
    assert.equal(answer.id, 7);
    assert.deepEqual(
      answer.answers?.map((a) => (a.type === "A" ? a.data : "")),
      ["127.0.0.1"],
    );
  } finally {
    await agent.stop();
  }
  await assert.rejects(fetch(`${agent.httpAddress}/v1/status/leader`));
});
