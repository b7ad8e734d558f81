// What a prepared-query upstream may dial: each answered instance with the identity it must present.
import { test } from "node:test";
import assert from "node:assert/strict";
import { queryInstancesOf } from "../../../src/connect/mesh/query-instances.ts";

test("sidecars speak for their destination, native services for themselves; other entries are not dialled", () => {
  const got = queryInstancesOf({
    Datacenter: "dc2",
    Nodes: [
      { Node: { Node: "n1", Address: "10.0.0.1", Datacenter: "dc1" }, Service: { ID: "db-sidecar-proxy", Service: "db-sidecar-proxy", Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "db" } } },
      { Node: { Node: "n2", Address: "10.0.0.2" }, Service: { ID: "api", Service: "api", Address: "10.0.0.9", Port: 8443, Connect: { Native: true } } },
      { Node: { Node: "n3", Address: "10.0.0.3" }, Service: { ID: "plain", Service: "plain", Port: 80 } },
    ],
  });
  assert.deepEqual(got, [
    { host: "10.0.0.1", port: 21000, datacenter: "dc1", node: "n1", serviceId: "db-sidecar-proxy", service: "db" },
    { host: "10.0.0.9", port: 8443, datacenter: "dc2", node: "n2", serviceId: "api", service: "api" },
  ]);
  assert.deepEqual(queryInstancesOf({ Nodes: null }), []);
});
