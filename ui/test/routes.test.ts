import assert from "node:assert/strict";
import { test } from "node:test";
import { hrefOf, parseRoute, type Route } from "../src/routes.ts";

const parse = (path: string): Route => parseRoute(path, "/ui/", "dc1");

test("Consul's routes parse to pages and back", () => {
  const pages: [string, Route][] = [
    ["/ui/dc1/services", { page: "services", dc: "dc1" }],
    ["/ui/dc1/services/web/instances", { page: "service-instances", dc: "dc1", service: "web" }],
    ["/ui/dc1/services/web/instances/node-1/web-a/health-checks", { page: "instance-checks", dc: "dc1", service: "web", node: "node-1", id: "web-a" }],
    ["/ui/dc1/nodes", { page: "nodes", dc: "dc1" }],
    ["/ui/dc1/nodes/node-1/health-checks", { page: "node-checks", dc: "dc1", node: "node-1" }],
    ["/ui/dc1/kv/", { page: "kv-folder", dc: "dc1", prefix: "" }],
    ["/ui/dc1/kv/a/b/", { page: "kv-folder", dc: "dc1", prefix: "a/b/" }],
    ["/ui/dc1/kv/a/b/key/edit", { page: "kv-edit", dc: "dc1", key: "a/b/key" }],
    ["/ui/dc1/kv/a/create", { page: "kv-create", dc: "dc1", prefix: "a/" }],
    ["/ui/dc1/kv/create", { page: "kv-create", dc: "dc1", prefix: "" }],
    ["/ui/dc1/intentions", { page: "intentions", dc: "dc1" }],
    ["/ui/dc1/intentions/create", { page: "intention-create", dc: "dc1" }],
    ["/ui/dc1/intentions/default:default:web:default:default:db", { page: "intention-edit", dc: "dc1", source: "web", destination: "db" }],
    ["/ui/dc1/intentions/default:default:*:default:default:db", { page: "intention-edit", dc: "dc1", source: "*", destination: "db" }],
  ];
  for (const [path, route] of pages) {
    assert.deepEqual(parse(path), route, path);
    assert.equal(hrefOf(route, "/ui/"), path);
  }
});

test("redirects: /ui/ to the local dc's services, a service to its instances, a folder to its trailing slash", () => {
  assert.deepEqual(parse("/ui/"), { page: "redirect", to: { page: "services", dc: "dc1" } });
  assert.deepEqual(parse("/ui/east"), { page: "redirect", to: { page: "services", dc: "east" } });
  assert.deepEqual(parse("/ui/dc1/services/web"), { page: "redirect", to: { page: "service-instances", dc: "dc1", service: "web" } });
  assert.deepEqual(parse("/ui/dc1/nodes/n1"), { page: "redirect", to: { page: "node-checks", dc: "dc1", node: "n1" } });
  assert.deepEqual(parse("/ui/dc1/kv/a/b"), { page: "redirect", to: { page: "kv-folder", dc: "dc1", prefix: "a/b/" } });
  assert.equal(parse("/ui/dc1/nope").page, "not-found");
});

test("names are percent-encoded segment by segment; keys keep their slashes", () => {
  const route: Route = { page: "instance-checks", dc: "dc1", service: "a b", node: "n/1", id: "x?y" };
  const path = hrefOf(route, "/console/");
  assert.equal(path, "/console/dc1/services/a%20b/instances/n%2F1/x%3Fy/health-checks");
  assert.deepEqual(parseRoute(path, "/console/", "dc1"), route);
  assert.equal(hrefOf({ page: "kv-edit", dc: "dc1", key: "a b/c#d" }, "/ui/"), "/ui/dc1/kv/a%20b/c%23d/edit");
});

test("intention ids: six parts, each encoded, so a ':' in a name survives; other partitions are not pages here", () => {
  const route: Route = { page: "intention-edit", dc: "dc1", source: "a:b c", destination: "db" };
  const path = hrefOf(route, "/ui/");
  assert.deepEqual(parse(path), route);
  assert.equal(parse("/ui/dc1/intentions/default:default:web:default:default").page, "not-found");
  assert.equal(parse("/ui/dc1/intentions/team:default:web:default:default:db").page, "not-found");
  assert.equal(parse("/ui/dc1/intentions/default:default::default:default:db").page, "not-found");
});
