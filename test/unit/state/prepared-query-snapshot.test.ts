import { test } from "node:test";
import assert from "node:assert/strict";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { PreparedQuerySetCommand } from "../../../src/fsm/command.ts";
import { restoreState, serializeState } from "../../../src/state/snapshot.ts";
import { StateStore } from "../../../src/state/store.ts";

// Prepared queries and coordinates travel in snapshots: a restored store resolves the same
// queries, templates included (compiled again on load), and keeps the coordinates.

function query(id: string, name: string, template: boolean): PreparedQuerySetCommand {
  return {
    Type: "prepared-query-set",
    Query: {
      ID: id,
      Name: name,
      Session: "",
      Token: "",
      Template: { Type: template ? "name_prefix_match" : "", Regexp: template ? "^tmpl-(.+)$" : "", RemoveEmptyTags: false },
      Service: {
        Service: template ? "${match(1)}" : "db",
        SamenessGroup: "",
        Failover: { NearestN: 0, Datacenters: null, Targets: null },
        OnlyPassing: false,
        IgnoreCheckIDs: null,
        Near: "",
        Tags: null,
        NodeMeta: null,
        ServiceMeta: null,
        Connect: false,
        Peer: "",
      },
      DNS: { TTL: "" },
    },
  };
}

test("snapshot - prepared queries (templates recompiled) and coordinates survive save and restore", () => {
  const fsm = new StateMachine(new StateStore());
  fsm.apply(1, { Type: "catalog-register", Node: { ID: "", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: {}, Meta: {} }, SkipNodeUpdate: false, Checks: [] });
  assert.deepEqual(fsm.apply(2, query("11111111-1111-1111-1111-111111111111", "plain", false)), { ok: true, value: "11111111-1111-1111-1111-111111111111" });
  assert.equal(fsm.apply(3, query("22222222-2222-2222-2222-222222222222", "tmpl-", true)).ok, true);
  const coord = { Node: "n1", Segment: "", Coord: { Vec: [0.001, 0, 0, 0, 0, 0, 0, 0], Error: 0.4, Adjustment: 0, Height: 0.0001 } };
  fsm.apply(4, { Type: "coordinate-update", Coordinates: [coord, { ...coord, Node: "ghost" }] });
  assert.equal(fsm.state.coordinates.get("ghost"), undefined, "coordinates of nodes not in the catalog are skipped");

  const restored = new StateStore();
  restoreState(restored, serializeState(fsm.state));
  assert.equal(restored.preparedQueries.tableIndex, 3);
  assert.deepEqual(restored.preparedQueries.list().map((q) => q.Name), ["plain", "tmpl-"]);
  assert.equal(restored.preparedQueries.resolve("plain", { segment: "" })?.Service.Service, "db");
  assert.equal(restored.preparedQueries.resolve("tmpl-orders", { segment: "" })?.Service.Service, "orders");
  assert.deepEqual(restored.coordinates.get("n1"), coord);
});
