import { test } from "node:test";
import assert from "node:assert/strict";
import type { HealthCheck, Node, NodeService } from "../../../src/model/catalog.ts";
import { healthEntryView } from "../../../src/http/views/health-entry.ts";
import { healthEntryElement } from "../../../src/http/views/health-entry-bytes.ts";

// Health entries are written byte by byte from their rows (issue 17, S4) instead of building
// healthEntryView and stringifying it. The bytes must be exactly what JSON.stringify gives for
// the view, in both spellings: pretty as an element of the answer's array (4-space indent, as
// Go's json.MarshalIndent with "    "), compact as JSON.stringify(view).

function node(over: Partial<Node> = {}): Node {
  return { ID: "", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: { rack: "r1" }, CreateIndex: 5, ModifyIndex: 7, ...over };
}

function service(over: Partial<NodeService> = {}): NodeService {
  return {
    ID: "web-1",
    Service: "web",
    Tags: ["v1", "blue"],
    Address: "",
    Meta: { version: "1" },
    Port: 8080,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: { MeshGateway: {}, Expose: {} },
    Connect: {},
    PeerName: "",
    CreateIndex: 6,
    ModifyIndex: 6,
    ...over,
  };
}

function check(over: Partial<HealthCheck> = {}): HealthCheck {
  return {
    Node: "n1",
    CheckID: "service:web-1",
    Name: "web health",
    Status: "passing",
    Notes: "",
    Output: "",
    ServiceID: "web-1",
    ServiceName: "web",
    ServiceTags: ["v1", "blue"],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
    CreateIndex: 6,
    ModifyIndex: 6,
    ...over,
  };
}

/** What the answer held before: the view's element in JSON.stringify(array, null, 4), and its compact JSON. */
function expected(n: Node, s: NodeService, checks: HealthCheck[]): { pretty: string; compact: string } {
  const view = healthEntryView(n, s, checks);
  const one = JSON.stringify([view], null, 4);
  return { pretty: one.slice(2, one.length - 2), compact: JSON.stringify(view) };
}

function assertSameBytes(label: string, n: Node, s: NodeService, checks: HealthCheck[]): void {
  const want = expected(n, s, checks);
  assert.equal(healthEntryElement(n, s, checks, true)?.toString("utf8"), want.pretty, `${label} (pretty)`);
  assert.equal(healthEntryElement(n, s, checks, false)?.toString("utf8"), want.compact, `${label} (compact)`);
  assert.ok(healthEntryElement(n, s, checks, true)?.equals(Buffer.from(want.pretty)), `${label} (pretty bytes)`);
}

test("health entry bytes - the common catalog shape, with and without checks", () => {
  assertSameBytes("one service check", node(), service(), [check()]);
  assertSameBytes("no checks", node(), service(), []);
  assertSameBytes("node-level and service checks", node(), service(), [
    check({ CheckID: "serfHealth", Name: "Serf Health Status", ServiceID: "", ServiceName: "", ServiceTags: [], Output: "Agent alive and reachable" }),
    check({ Status: "critical", Notes: "down", Output: "HTTP GET http://10.0.0.1:8080/health: 503" }),
  ]);
});

test("health entry bytes - escapes, unicode and odd strings as JSON.stringify writes them", () => {
  const odd = ["quote \" and backslash \\", "line\nbreak\ttab\r\u0000\u001f\u007f", "héllo wörld", "日本語", "emoji 🚀", "lone \ud800 high", "lone \udc00 low", "<html>&amp;", "\u2028\u2029", ""];
  for (const text of odd) {
    assertSameBytes(JSON.stringify(text), node({ Node: text, Meta: { [text || "k"]: text } }), service({ ID: text, Tags: [text], Meta: { note: text } }), [
      check({ Output: text, Notes: text, ServiceTags: [text], Definition: { Header: { [text || "h"]: [text] } } }),
    ]);
  }
});

test("health entry bytes - empty and null maps and arrays, optional service fields", () => {
  assertSameBytes("null and empty", node({ Meta: null, TaggedAddresses: {} }), service({ Meta: null, Tags: [], Port: 0 }), [check({ ServiceTags: [] })]);
  assertSameBytes("empty meta", node({ Meta: {} }), service({ Meta: {} }), [check()]);
  assertSameBytes(
    "every optional field set",
    node({ ID: "0b5b1a37-7a0e-4c43-9d2e-8c4f6c1d2e3f", TaggedAddresses: { lan: "10.0.0.1", wan: "1.2.3.4" } }),
    service({
      Kind: "connect-proxy",
      TaggedAddresses: { lan_ipv4: { Address: "10.0.0.1", Port: 21000 } },
      SocketPath: "/run/web.sock",
      Weights: { Passing: 10, Warning: 0 },
      EnableTagOverride: true,
      Proxy: { DestinationServiceName: "web", LocalServicePort: 8080, Upstreams: [{ DestinationName: "db", LocalBindPort: 9191, Config: { x: null } }], MeshGateway: { Mode: "local" }, Expose: {} },
      Connect: { Native: true },
      PeerName: "peer-1",
    }),
    [check({ Type: "http", Interval: "10s", Timeout: "1s", ExposedPort: 21500, Definition: { HTTP: "http://x", Method: "GET", Header: { A: ["1", "2"] }, TLSSkipVerify: false, IntervalDuration: 1.5e9 } })],
  );
  // Rows from older decoders: what the views default.
  const bare = service();
  delete (bare as Partial<NodeService>).PeerName;
  assertSameBytes("no PeerName, no Weights, no Proxy", node(), { ...bare, Weights: undefined as unknown as NodeService["Weights"], Proxy: undefined as unknown as NodeService["Proxy"] }, [
    check({ ServiceTags: null as unknown as string[], Definition: undefined as unknown as HealthCheck["Definition"] }),
  ]);
  assertSameBytes("big and fractional numbers, integer-like keys", node({ CreateIndex: 2 ** 53 - 1, ModifyIndex: 1e21, Meta: { "10": "ten", "2": "two", b: "b", a: "a" } }), service({ Port: 65535 }), [
    check({ Definition: { n: -0, f: 0.1, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, arr: [1, "two", null, true, [], {}] } }),
  ]);
});

test("health entry bytes - precomputed runs hold only for the exact default shapes, numbers at integer edges", () => {
  // The writer copies one precomputed run for a service whose Weights, Proxy and Connect are
  // the defaults (and for an empty check Definition); anything near them must be written as is.
  const near: Array<[string, Partial<NodeService>]> = [
    ["EnableTagOverride true", { EnableTagOverride: true }],
    ["weights reordered", { Weights: { Warning: 1, Passing: 1 } }],
    ["weights with a third key", { Weights: { Passing: 1, Warning: 1, Extra: 2 } as unknown as NodeService["Weights"] }],
    ["weights passing 2", { Weights: { Passing: 2, Warning: 1 } }],
    ["proxy reordered", { Proxy: { Expose: {}, MeshGateway: {} } }],
    ["proxy mesh gateway set", { Proxy: { MeshGateway: { Mode: "local" }, Expose: {} } }],
    ["proxy with an undefined member", { Proxy: { MeshGateway: {}, Expose: {}, Upstreams: undefined } }],
    ["proxy missing Expose", { Proxy: { MeshGateway: {} } }],
    ["connect set", { Connect: { Native: false } }],
    ["connect undefined", { Connect: undefined as unknown as NodeService["Connect"] }],
    ["connect with an undefined member", { Connect: { Native: undefined } }],
  ];
  for (const [label, over] of near) assertSameBytes(label, node(), service(over), [check()]);
  for (const definition of [null, {}, { HTTP: "" }, { a: undefined }, []]) {
    assertSameBytes(`definition ${JSON.stringify(definition)}`, node(), service(), [check({ Definition: definition as unknown as HealthCheck["Definition"] }), check({ CheckID: "second" })]);
  }
  for (const n of [0, 1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32, -1, -0, 0.5, 1e-7, 123456789]) {
    assertSameBytes(`number ${n}`, node({ CreateIndex: n }), service({ ModifyIndex: n, Port: n }), [check({ ExposedPort: n, CreateIndex: n })]);
  }
});

test("health entry bytes - rows outside the views' shape are left to the view (undefined)", () => {
  assert.equal(healthEntryElement(node({ Address: undefined as unknown as string }), service(), [check()], true), undefined);
  assert.equal(healthEntryElement(node(), service({ Tags: ["a", 1 as unknown as string] }), [check()], false), undefined);
  assert.equal(healthEntryElement(node(), service(), [check({ ExposedPort: "1" as unknown as number })], true), undefined);
  assert.equal(healthEntryElement(node({ Meta: undefined as unknown as null }), service(), [], true), undefined);
  // A good row right after an odd one is written again (no state left over).
  assertSameBytes("after an odd row", node(), service(), [check()]);
});

test("health entry bytes - values JSON.stringify writes through toJSON keep its spelling", () => {
  const when = new Date(Date.UTC(2026, 11, 7, 17, 0, 0));
  assertSameBytes("a Date and a Buffer in the definition", node(), service(), [check({ Definition: { At: when, Raw: Buffer.from("hi") } as unknown as Record<string, unknown> })]);
  assertSameBytes("undefined members and array items", node(), service({ Meta: { a: "1", gone: undefined as unknown as string } }), [
    check({ Definition: { keep: 1, drop: undefined, fn: () => 1, list: [undefined, () => 1] } }),
  ]);
});
