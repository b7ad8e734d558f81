import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

// The web UI under ui_config.content_path (spec/ui.md §1): `/` → 301, unknown UI paths get
// index.html, assets compressed by Accept-Encoding, cache headers and a strict CSP. Needs the
// built UI (dist/ui, made by `npm ci` / `npm run build`).

let agent: TestAgent;
let off: TestAgent;

/** A raw GET (fetch would decompress and follow redirects). */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  agent = await startTestAgent({ ui: { contentPath: "/console/", dir: "" } }, { identity: { datacenter: "east" } });
  off = await startTestAgent();
});

after(async () => {
  await agent.stop();
  await off.stop();
});

test("/ redirects (301) to the content path; without the UI it says so", async () => {
  const root = await get(agent.base, "/");
  assert.equal(root.status, 301);
  assert.equal(root.headers.location, "/console/");
  const bare = await get(agent.base, "/console");
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.location, "/console/");
  const disabled = await get(off.base, "/");
  assert.equal(disabled.status, 200);
  assert.match(disabled.body.toString(), /^Consul Agent: UI disabled\./);
  assert.equal((await get(off.base, "/ui/")).status, 404);
});

test("index.html for any UI path, with the agent's config, no-cache and a strict CSP", async () => {
  for (const path of ["/console/", "/console/east/services", "/console/east/kv/a/b/"]) {
    const res = await get(agent.base, path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(res.headers["cache-control"], "no-cache");
    const csp = String(res.headers["content-security-policy"]);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const html = res.body.toString();
    const config = JSON.parse(/<script type="application\/json" data-consul-ui-config>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "{}") as Record<string, unknown>;
    assert.equal(config.ContentPath, "/console/");
    assert.equal(config.LocalDatacenter, "east");
    assert.match(html, /src="\/console\/assets\/app-[A-Z0-9]+\.js"/);
    assert.doesNotMatch(html, /https?:\/\//, "nothing is loaded from the internet");
  }
  const index = await get(agent.base, "/console/index.html");
  assert.equal(index.status, 301);
  assert.equal(index.headers.location, "./");
});

test("assets: immutable, and brotli or gzip as the client accepts", async () => {
  const html = (await get(agent.base, "/console/")).body.toString();
  const script = /src="\/console\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script);
  const plain = await get(agent.base, `/console/${script}`);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers["content-type"], "text/javascript; charset=utf-8");
  assert.equal(plain.headers["cache-control"], "public, max-age=31536000, immutable");
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.equal(plain.headers.vary, "Accept-Encoding");

  const br = await get(agent.base, `/console/${script}`, { "Accept-Encoding": "gzip, deflate, br" });
  assert.equal(br.headers["content-encoding"], "br");
  assert.deepEqual(brotliDecompressSync(br.body), plain.body);
  const gz = await get(agent.base, `/console/${script}`, { "Accept-Encoding": "gzip, br;q=0" });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.deepEqual(gunzipSync(gz.body), plain.body);
  // Initial bundle budget: 250 KiB gzipped.
  assert.ok(gz.body.length <= 250 * 1024, `bundle is ${gz.body.length} bytes gzipped`);

  const index = await get(agent.base, "/console/east/nodes", { "Accept-Encoding": "br" });
  assert.equal(index.headers["content-encoding"], "br");
  assert.match(brotliDecompressSync(index.body).toString(), /data-consul-ui-config/);
});

test("API paths are never answered by the UI", async () => {
  const res = await get(agent.base, "/v1/nope");
  assert.equal(res.status, 404);
  assert.equal(res.headers["content-security-policy"], undefined);
});

test("ui_config.dir: that directory is served as it is (compressed at start); a missing one refuses start", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-ui-dir-"));
  try {
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<p>{{ContentPath}} custom</p>");
    await writeFile(join(dir, "assets", "x.css"), "body{color:red}".repeat(50));
    const custom = await startTestAgent({ ui: { contentPath: "/ui/", dir } });
    try {
      const page = await get(custom.base, "/ui/dc1/anything");
      assert.equal(page.status, 200);
      assert.equal(page.body.toString(), "<p>{{ContentPath}} custom</p>", "a custom index is not a template");
      const css = await get(custom.base, "/ui/assets/x.css", { "Accept-Encoding": "gzip" });
      assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
      assert.equal(css.headers["content-encoding"], "gzip");
      assert.equal(gunzipSync(css.body).toString(), "body{color:red}".repeat(50));
    } finally {
      await custom.stop();
    }
    await assert.rejects(startTestAgent({ ui: { contentPath: "/ui/", dir: join(dir, "missing") } }), /ui_config\.dir: cannot read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
