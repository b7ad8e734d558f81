import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilter, FilterError } from "../../../src/filter/filter.ts";
import {
  agentCheckSchema, agentServiceSchema, catalogNodeSchema, catalogServiceNodeSchema, healthCheckSchema,
  healthServiceEntrySchema, memberSchema, nodeServiceSchema,
} from "../../../src/filter/endpoint-schemas.ts";
import type { FilterSchema } from "../../../src/filter/schema.ts";

// Operator groups of the spec selector tables (agent.md §7.2/§8.6, catalog.md §6/§8, health.md §4).
const STRING_OPS = ["==", "!=", "in", "not in", "matches", "not matches"] as const;
const SCALAR_OPS = ["==", "!="] as const;
const LIST_OPS = ["in", "not in", "is empty", "is not empty"] as const;
const MAP_OPS = ["is empty", "is not empty", "in", "not in"] as const;
const EMPTINESS_OPS = ["is empty", "is not empty"] as const;
type Op = (typeof STRING_OPS)[number] | (typeof LIST_OPS)[number];
const ALL_OPS: readonly Op[] = ["==", "!=", "in", "not in", "matches", "not matches", "is empty", "is not empty"];

function expressionFor(selector: string, op: Op): string {
  switch (op) {
    case "==": case "!=": return `${selector} ${op} "1"`;
    case "in": case "not in": return `"1" ${op} ${selector}`;
    case "matches": case "not matches": return `${selector} ${op} "1"`;
    case "is empty": case "is not empty": return `${selector} ${op}`;
  }
}

type Row = { readonly selectors: readonly string[]; readonly ops: readonly Op[] };

function assertTable(name: string, schema: FilterSchema, rows: readonly Row[]): void {
  for (const { selectors, ops } of rows) {
    for (const selector of selectors) {
      for (const op of ALL_OPS) {
        const expression = expressionFor(selector, op);
        if (ops.includes(op)) {
          assert.doesNotThrow(() => compileFilter(expression, { schema }), `${name}: ${expression}`);
        } else {
          assert.throws(() => compileFilter(expression, { schema }), FilterError, `${name}: ${expression} must be rejected`);
        }
      }
    }
  }
}

const agentServiceRows: Row[] = [
  {
    selectors: ["ID", "Service", "Kind", "Address", "Proxy.DestinationServiceID", "Proxy.DestinationServiceName",
      "Proxy.LocalServiceAddress", "Proxy.Mode", "Proxy.MeshGateway.Mode", "Proxy.Upstreams.Datacenter",
      "Proxy.Upstreams.DestinationName", "Proxy.Upstreams.DestinationNamespace", "Proxy.Upstreams.DestinationType",
      "Proxy.Upstreams.LocalBindAddress", "Proxy.Upstreams.MeshGateway.Mode", "Meta.env", 'Meta["my-key"]',
      "TaggedAddresses.lan.Address"],
    ops: [...STRING_OPS],
  },
  {
    selectors: ["Port", "EnableTagOverride", "Connect.Native", "Weights.Passing", "Weights.Warning",
      "Proxy.LocalServicePort", "Proxy.TransparentProxy.OutboundListenerPort", "Proxy.Upstreams.LocalBindPort",
      "TaggedAddresses.wan.Port"],
    ops: [...SCALAR_OPS],
  },
  { selectors: ["Tags"], ops: [...LIST_OPS] },
  { selectors: ["Meta", "TaggedAddresses"], ops: [...MAP_OPS] },
  { selectors: ["Proxy.Upstreams"], ops: [...EMPTINESS_OPS] },
];

void test("filter schemas - agent service selectors and operators (agent.md §7.2)", () => {
  assertTable("agent service", agentServiceSchema, agentServiceRows);
  assertTable("node service", nodeServiceSchema, agentServiceRows);
});

const checkRows: Row[] = [
  { selectors: ["CheckID", "Name", "Node", "Notes", "Output", "ServiceID", "ServiceName", "Status", "Type", "Interval", "Timeout", "PeerName"], ops: [...STRING_OPS] },
  { selectors: ["ExposedPort"], ops: [...SCALAR_OPS] },
  { selectors: ["ServiceTags"], ops: [...LIST_OPS] },
];

void test("filter schemas - health and agent check selectors (health.md §4, agent.md §8.6)", () => {
  assertTable("health check", healthCheckSchema, checkRows);
  assertTable("agent check", agentCheckSchema, checkRows);
});

void test("filter schemas - catalog node selectors (catalog.md §6)", () => {
  assertTable("catalog node", catalogNodeSchema, [
    { selectors: ["ID", "Node", "Address", "Datacenter", "Meta.instance_type", "TaggedAddresses.lan"], ops: [...STRING_OPS] },
    { selectors: ["Meta", "TaggedAddresses"], ops: [...MAP_OPS] },
  ]);
});

void test("filter schemas - catalog service-node selectors (catalog.md §8)", () => {
  assertTable("service node", catalogServiceNodeSchema, [
    {
      selectors: ["ID", "Node", "Address", "Datacenter", "NodeMeta.rack", "TaggedAddresses.wan", "ServiceID", "ServiceName",
        "ServiceKind", "ServiceAddress", "ServiceMeta.version", "ServiceTaggedAddresses.lan_ipv4.Address",
        "ServiceProxy.DestinationServiceID", "ServiceProxy.DestinationServiceName", "ServiceProxy.LocalServiceAddress",
        "ServiceProxy.Mode", "ServiceProxy.MeshGateway.Mode", "ServiceProxy.Upstreams.Datacenter",
        "ServiceProxy.Upstreams.DestinationName", "ServiceProxy.Upstreams.DestinationNamespace",
        "ServiceProxy.Upstreams.DestinationType", "ServiceProxy.Upstreams.LocalBindAddress",
        "ServiceProxy.Upstreams.MeshGateway.Mode"],
      ops: [...STRING_OPS],
    },
    {
      selectors: ["ServicePort", "ServiceEnableTagOverride", "ServiceConnect.Native", "ServiceWeights.Passing",
        "ServiceWeights.Warning", "ServiceTaggedAddresses.lan_ipv4.Port", "ServiceProxy.LocalServicePort",
        "ServiceProxy.TransparentProxy.OutboundListenerPort", "ServiceProxy.Upstreams.LocalBindPort"],
      ops: [...SCALAR_OPS],
    },
    { selectors: ["ServiceTags"], ops: [...LIST_OPS] },
    { selectors: ["NodeMeta", "ServiceMeta", "TaggedAddresses", "ServiceTaggedAddresses"], ops: [...MAP_OPS] },
    { selectors: ["ServiceProxy.Upstreams"], ops: [...EMPTINESS_OPS] },
  ]);
});

void test("filter schemas - health service entry selectors (health.md §4.3)", () => {
  assertTable("service entry", healthServiceEntrySchema, [
    {
      selectors: ["Node.ID", "Node.Node", "Node.Address", "Node.Datacenter", "Node.Meta.rack", "Node.TaggedAddresses.lan",
        "Service.ID", "Service.Service", "Service.Kind", "Service.Address", "Service.Meta.env",
        "Service.TaggedAddresses.lan.Address", "Service.Proxy.DestinationServiceID", "Service.Proxy.DestinationServiceName",
        "Service.Proxy.LocalServiceAddress", "Service.Proxy.Mode", "Service.Proxy.MeshGateway.Mode",
        "Service.Proxy.Upstreams.Datacenter", "Service.Proxy.Upstreams.DestinationName",
        "Service.Proxy.Upstreams.DestinationNamespace", "Service.Proxy.Upstreams.DestinationType",
        "Service.Proxy.Upstreams.LocalBindAddress", "Service.Proxy.Upstreams.MeshGateway.Mode", "Checks.CheckID",
        "Checks.Name", "Checks.Node", "Checks.Notes", "Checks.Output", "Checks.ServiceID", "Checks.ServiceName", "Checks.Status"],
      ops: [...STRING_OPS],
    },
    {
      selectors: ["Service.Port", "Service.EnableTagOverride", "Service.Connect.Native", "Service.Weights.Passing",
        "Service.Weights.Warning", "Service.TaggedAddresses.lan.Port", "Service.Proxy.LocalServicePort",
        "Service.Proxy.TransparentProxy.OutboundListenerPort", "Service.Proxy.Upstreams.LocalBindPort"],
      ops: [...SCALAR_OPS],
    },
    { selectors: ["Service.Tags", "Checks.ServiceTags"], ops: [...LIST_OPS] },
    { selectors: ["Node.Meta", "Node.TaggedAddresses", "Service.Meta", "Service.TaggedAddresses"], ops: [...MAP_OPS] },
    { selectors: ["Checks", "Service.Proxy.Upstreams"], ops: [...EMPTINESS_OPS] },
  ]);
});

void test("filter schemas - member selectors (agent.md §3)", () => {
  assertTable("member", memberSchema, [
    { selectors: ["Name", "Addr", "Tags.role"], ops: [...STRING_OPS] },
    { selectors: ["Port", "Status", "ProtocolMin", "ProtocolMax", "ProtocolCur", "DelegateMin", "DelegateMax", "DelegateCur"], ops: [...SCALAR_OPS] },
    { selectors: ["Tags"], ops: [...MAP_OPS] },
  ]);
});

void test("filter schemas - raft indexes and enterprise meta are not selectable", () => {
  for (const [schema, selector] of [
    [healthCheckSchema, "CreateIndex"], [catalogNodeSchema, "ModifyIndex"], [catalogServiceNodeSchema, "Namespace"],
    [agentServiceSchema, "ContentHash"],
  ] as const) {
    assert.throws(() => compileFilter(`${selector} == 1`, { schema }),
      { message: `Failed to create boolean expression evaluator: Selector "${selector}" is not valid` });
  }
});

void test("filter schemas - health service entry: spec examples select the right entries", () => {
  const entry = (status: string[], tags: string[], env?: string) => ({
    Node: { ID: "id", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: { lan: "10.0.0.1" }, Meta: null },
    Service: { ID: "web-1", Service: "web", Tags: tags, Meta: env === undefined ? {} : { env }, Port: 8080, Address: "",
      Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: { MeshGateway: {}, Expose: {} }, Connect: {} },
    Checks: status.map((s, i) => ({ Node: "n1", CheckID: `c${i}`, Status: s, ServiceTags: tags })),
  });
  const items = [entry(["passing", "passing"], ["v1"], "prod"), entry(["passing", "critical"], ["v2"]), entry([], [])];
  const select = (expression: string) =>
    items.map(compileFilter(expression, { schema: healthServiceEntrySchema })).map((keep) => (keep ? 1 : 0)).join("");
  assert.equal(select('Checks.Status == "critical"'), "010");
  assert.equal(select("not (Checks.Status != passing)"), "101");
  assert.equal(select('Service.Meta.env == "prod" and "v1" in Service.Tags'), "100");
  assert.equal(select("Checks is empty"), "001");
  assert.equal(select('Service.Connect.Native == false and Service.Proxy.Mode == ""'), "111");
  assert.equal(select("Node.Meta is empty"), "111");
  assert.equal(select('Service.Port == 8080 and Node.TaggedAddresses.lan == "10.0.0.1"'), "111");
});

void test("filter schemas - catalog service-node example from catalog.md §8", () => {
  const predicate = compileFilter('ServiceMeta.env == "prod" and "v1" in ServiceTags', { schema: catalogServiceNodeSchema });
  assert.equal(predicate({ ServiceMeta: { env: "prod" }, ServiceTags: ["v1"] }), true);
  assert.equal(predicate({ ServiceMeta: { env: "dev" }, ServiceTags: ["v1"] }), false);
  assert.equal(predicate({ ServiceMeta: null, ServiceTags: null }), false);
});
