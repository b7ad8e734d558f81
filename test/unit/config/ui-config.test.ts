import assert from "node:assert/strict";
import { test } from "node:test";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import { agentOptionsFromConfig } from "../../../src/launch/from-config.ts";

// ui_config.enabled / dir / content_path and their flags (spec/ui.md §1) reach the HTTP layer.

const io: LoadOptions = {
  hostname: () => "devhost",
  randomUUID: () => "01234567-89ab-cdef-0123-456789abcdef",
  networkInterfaces: () => ({}),
  readFile: () => Promise.reject(new Error("no files in this test")),
};

void test("ui_config: on in -dev at /ui/, off by default, content_path normalised, dir counts as enabled", async () => {
  const dev = await loadRuntimeConfig({ dev: true }, io);
  assert.deepEqual(agentOptionsFromConfig(dev).http.ui, { contentPath: "/ui/", dir: "" });

  const plain = await loadRuntimeConfig({ dev: true, hcl: ["ui_config { enabled = false }"] }, io);
  assert.equal(agentOptionsFromConfig(plain).http.ui, undefined);

  const moved = await loadRuntimeConfig({ dev: true, hcl: ['ui_config { content_path = "consul/web" }'] }, io);
  assert.equal(agentOptionsFromConfig(moved).http.ui?.contentPath, "/consul/web/");

  const flags = await loadRuntimeConfig({ dev: true, hcl: ["ui_config { enabled = false }"], "ui-dir": "/srv/ui", "ui-content-path": "/x" }, io);
  assert.deepEqual(agentOptionsFromConfig(flags).http.ui, { contentPath: "/x/", dir: "/srv/ui" });

  const server = { "data-dir": "/nonexistent-consulate-dir", bind: "127.0.0.1" };
  const serverIo: LoadOptions = { ...io, statPath: () => Promise.resolve(undefined) };
  assert.equal(agentOptionsFromConfig(await loadRuntimeConfig(server, serverIo)).http.ui, undefined);
  const byFlag = await loadRuntimeConfig({ ...server, ui: true }, serverIo);
  assert.deepEqual(agentOptionsFromConfig(byFlag).http.ui, { contentPath: "/ui/", dir: "" });
  const ownDir = await loadRuntimeConfig({ ...server, "ui-dir": "/srv/ui" }, serverIo);
  assert.deepEqual(agentOptionsFromConfig(ownDir).http.ui, { contentPath: "/ui/", dir: "/srv/ui" });
  // Outside -dev, enabled and dir together are Consul's config error.
  await assert.rejects(loadRuntimeConfig({ ...server, ui: true, "ui-dir": "/srv/ui" }, serverIo), /^ConfigError: Both the ui_config\.enabled and ui_config\.dir \(or -ui and -ui-dir\) were specified/);
});
