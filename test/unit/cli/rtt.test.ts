import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startFakeConsul, type FakeConsul } from "./fake-consul.ts";
import { runCli } from "./run-cli.ts";

// `consulate rtt` against canned coordinate answers: Consul's output line and error texts.

const at = (x: number): unknown => ({ Vec: [x, 0, 0, 0, 0, 0, 0, 0], Error: 0.2, Adjustment: 0, Height: 0.0001 });

let fake: FakeConsul;
before(async () => {
  fake = await startFakeConsul({
    "GET /v1/agent/self": { body: { Config: { NodeName: "me", Datacenter: "dc1" } } },
    "GET /v1/coordinate/nodes": {
      body: [
        { Node: "me", Segment: "", Coord: at(0) },
        { Node: "Far", Segment: "", Coord: at(0.0123) },
      ],
    },
    "GET /v1/coordinate/datacenters": {
      body: [
        { Datacenter: "dc1", AreaID: "wan", Coordinates: [{ Node: "me", Segment: "", Coord: at(0) }] },
        { Datacenter: "dc2", AreaID: "wan", Coordinates: [{ Node: "s2", Segment: "", Coord: at(0.05) }] },
      ],
    },
  });
});
after(() => fake.close());

test("rtt - LAN estimate between a node and this agent, names matched case-insensitively", async () => {
  const r = await runCli(["rtt", "far"], { address: fake.address });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "Estimated far <-> me rtt: 12.500 ms (using LAN coordinates)\n");
});

test("rtt -wan - <node>.<dc> names against the WAN coordinates", async () => {
  const r = await runCli(["rtt", "-wan", "s2.dc2"], { address: fake.address });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "Estimated s2.dc2 <-> me.dc1 rtt: 50.200 ms (using WAN coordinates)\n");
  const bad = await runCli(["rtt", "-wan", "s2"], { address: fake.address });
  assert.equal(bad.code, 1);
  assert.equal(bad.err, "Node names must be specified as <node name>.<datacenter> with -wan\n");
});

test("rtt - argument count and unknown nodes", async () => {
  const none = await runCli(["rtt"], { address: fake.address });
  assert.equal(none.code, 1);
  assert.match(none.err, /^One or two node names must be specified\n\nUsage: consulate rtt/);
  const missing = await runCli(["rtt", "ghost", "me"], { address: fake.address });
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'Could not find a coordinate for node "ghost"\n');
});
