import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startTestAgent, type TestAgent } from "../support/test-agent.ts";

// The web UI in Debian's headless Chromium against a running agent (issue 19): every route
// renders real data, changes arrive without a reload (blocking queries), the KV and intention
// forms write through to the agent, 1,000 services render within a second, and nothing logs an error or
// fails a request. Needs `apt-get install chromium` (.ci/run does it) and the built UI.

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let agent: TestAgent;
let context: BrowserContext;
let page: Page;
let profile: string;
const problems: string[] = [];

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(agent.base + path, { method, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  return res;
}

async function put(path: string, body: unknown): Promise<void> {
  const res = await api("PUT", path, body);
  assert.equal(res.status, 200, await res.text());
}

async function kvRaw(key: string): Promise<string | undefined> {
  const res = await api("GET", `/v1/kv/${key}?raw`);
  if (res.status === 404) return undefined;
  return res.text();
}

/** Waits (generously: a busy 2-core machine) until `check` holds. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  agent = await startTestAgent({ ui: { contentPath: "/ui/", dir: "" } });
  await put("/v1/catalog/register", {
    Node: "node-1",
    Address: "10.0.0.1",
    NodeMeta: { rack: "r1" },
    Check: { CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing", Output: "Agent alive and reachable" },
    Service: { ID: "web-a", Service: "web", Tags: ["v2", "blue"], Port: 8080, Meta: { version: "2.4.1" } },
    Checks: [{ CheckID: "web-a-http", Name: "HTTP on :8080", Status: "critical", ServiceID: "web-a", Output: "connection refused" }],
  });
  await put("/v1/catalog/register", { Node: "node-2", Address: "10.0.0.2", Service: { ID: "db-1", Service: "db", Tags: ["primary"], Port: 5432 } });
  await put("/v1/kv/config/app/name", "demo");

  profile = await mkdtemp(join(tmpdir(), "consulate-ui-chromium-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("dialog", (d) => void d.accept());
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A read still in flight (a blocking one always is) is aborted on purpose when its page is left.
    if (r.failure()?.errorText === "net::ERR_ABORTED" && r.method() === "GET") return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ""}`);
  });
  page.on("response", (r) => {
    // Chromium asks for an icon on every page; a missing one would be a console error too.
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
});

after(async () => {
  await context?.close();
  await agent?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Services svc-<from>…svc-<to - 1> on node "bulk", 64 to a transaction (txn's limit). */
async function registerBulk(from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 64) {
    const ops = [];
    for (let i = start; i < Math.min(to, start + 64); i++) {
      ops.push({ Service: { Verb: "set", Node: "bulk", Service: { ID: `svc-${i}`, Service: `svc-${String(i).padStart(5, "0")}`, Port: 1000 + (i % 50000) } } });
    }
    await put("/v1/txn", ops);
  }
}

const row = (attr: string, value: string): string => `[${attr}="${value}"]`;

test("every route renders the agent's data", async () => {
  await page.goto(`${agent.base}/`);
  await page.waitForURL("**/ui/dc1/services");
  const web = page.locator(row("data-service", "web"));
  await web.waitFor();
  assert.match(await web.innerText(), /1 instance/);
  assert.equal(await web.locator(".count-critical").textContent(), "1 critical");
  assert.match(await web.innerText(), /blue/);

  await web.getByRole("link", { name: "web" }).click();
  await page.waitForURL("**/ui/dc1/services/web/instances");
  await page.locator(row("data-instance", "web-a")).waitFor();
  assert.match(await page.locator(row("data-instance", "web-a")).innerText(), /node-1 · 10\.0\.0\.1:8080/);

  await page.locator(row("data-instance", "web-a")).getByRole("link").click();
  await page.waitForURL("**/ui/dc1/services/web/instances/node-1/web-a/health-checks");
  await page.getByLabel("Output of HTTP on :8080").waitFor();
  assert.equal(await page.getByLabel("Output of HTTP on :8080").innerText(), "connection refused");
  await page.getByRole("cell", { name: "2.4.1" }).waitFor();

  await page.getByRole("link", { name: "Nodes" }).click();
  await page.waitForURL("**/ui/dc1/nodes");
  await page.locator(row("data-node", "node-2")).waitFor();
  assert.match(await page.locator(row("data-node", "node-1")).innerText(), /10\.0\.0\.1/);

  await page.goto(`${agent.base}/ui/dc1/nodes/node-1/health-checks`);
  await page.getByLabel("Output of Serf Health Status").waitFor();
  await page.getByRole("link", { name: "web-a" }).waitFor();
  await page.getByRole("cell", { name: "r1" }).waitFor();

  await page.getByRole("link", { name: "Key/Value" }).click();
  await page.waitForURL("**/ui/dc1/kv/");
  await page.locator(row("data-key", "config/")).getByRole("link").click();
  await page.waitForURL("**/ui/dc1/kv/config/");
  await page.locator(row("data-key", "config/app/")).getByRole("link").click();
  await page.locator(row("data-key", "config/app/name")).getByRole("link").click();
  await page.waitForURL("**/ui/dc1/kv/config/app/name/edit");
  await until("the value in the editor", async () => (await page.getByLabel("Value").inputValue()) === "demo");
});

test("lists search, filter and move by keyboard", async () => {
  await page.goto(`${agent.base}/ui/dc1/services`);
  await page.locator(row("data-service", "db")).waitFor();
  await page.getByLabel("Health", { exact: true }).selectOption("critical");
  await until("only critical services listed", async () => (await page.locator(row("data-service", "db")).count()) === 0);
  assert.equal(await page.locator(row("data-service", "web")).count(), 1);
  assert.match(page.url(), /status=critical/);
  await page.getByLabel("Health", { exact: true }).selectOption("");
  await page.getByLabel("Search services").fill("primary");
  await until("search by tag", async () => (await page.locator(row("data-service", "web")).count()) === 0);
  await page.getByLabel("Search services").fill("");

  await page.goto(`${agent.base}/ui/dc1/services?sort=Name:asc`);
  await page.getByRole("list", { name: "Services" }).focus();
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowDown");
  await until("focus on the second row's link", async () => (await page.evaluate(() => document.activeElement?.textContent)) === "db");
  await page.keyboard.press("Enter");
  await page.waitForURL("**/ui/dc1/services/db/instances");
});

test("a service registered while the page is open appears without a reload", async () => {
  await page.goto(`${agent.base}/ui/dc1/services`);
  await page.locator(row("data-service", "web")).waitFor();
  await page.evaluate(() => Object.assign(window, { stayedOpen: true }));
  await put("/v1/catalog/register", { Node: "node-3", Address: "10.0.0.3", Service: { Service: "late-arrival", Port: 1 } });
  await page.locator(row("data-service", "late-arrival")).waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { stayedOpen?: boolean }).stayedOpen), true);
});

test("KV form: a key and a folder are created, edited and deleted in the agent", async () => {
  // A sibling keeps ui-test/ listed after the key is deleted (an empty prefix lists as 404).
  await put("/v1/kv/ui-test/keep", "1");
  await page.goto(`${agent.base}/ui/dc1/kv/`);
  await page.getByRole("link", { name: "Create" }).click();
  await page.waitForURL("**/ui/dc1/kv/create");
  await page.getByRole("textbox", { name: /^Key or folder/ }).fill("ui-test/greeting");
  await page.getByLabel("Value").fill("hello");
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForURL("**/ui/dc1/kv/ui-test/");
  assert.equal(await kvRaw("ui-test/greeting"), "hello");

  await page.locator(row("data-key", "ui-test/greeting")).getByRole("link").click();
  await page.waitForURL("**/ui/dc1/kv/ui-test/greeting/edit");
  await until("the stored value", async () => (await page.getByLabel("Value").inputValue()) === "hello");
  await page.getByLabel("Value").fill("hello again");
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL("**/ui/dc1/kv/ui-test/");
  assert.equal(await kvRaw("ui-test/greeting"), "hello again");

  await page.locator(row("data-key", "ui-test/greeting")).getByRole("link").click();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.waitForURL("**/ui/dc1/kv/ui-test/");
  assert.equal(await kvRaw("ui-test/greeting"), undefined);

  await page.goto(`${agent.base}/ui/dc1/kv/create`);
  await page.getByRole("textbox", { name: /^Key or folder/ }).fill("ui-folder/");
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForURL("**/ui/dc1/kv/ui-folder/");
  assert.equal(await kvRaw("ui-folder/"), "");
  await put("/v1/kv/ui-folder/inner", "x");
  await page.goto(`${agent.base}/ui/dc1/kv/`);
  await page.getByRole("button", { name: "Delete ui-folder/" }).click();
  await until("the folder is gone", async () => (await kvRaw("ui-folder/inner")) === undefined && (await kvRaw("ui-folder/")) === undefined);
  await page.locator(row("data-key", "ui-folder/")).waitFor({ state: "detached" });
});

async function intentionExact(source: string, destination: string): Promise<{ Action?: string; Description?: string } | undefined> {
  const res = await api("GET", `/v1/connect/intentions/exact?source=${source}&destination=${destination}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200);
  return (await res.json()) as { Action?: string; Description?: string };
}

test("intentions: listed live, searched, filtered, created through the form and deleted", async () => {
  const created = await api("POST", "/v1/connect/intentions", { SourceName: "web", DestinationName: "db", Action: "deny", Description: "no direct access" });
  assert.equal(created.status, 200, await created.text());
  await page.goto(`${agent.base}/ui/dc1/services`);
  await page.getByRole("link", { name: "Intentions" }).click();
  await page.waitForURL("**/ui/dc1/intentions");
  const webDb = page.locator(row("data-intention", "web:db"));
  await webDb.waitFor();
  assert.match(await webDb.innerText(), /web → db[\s\S]*no direct access[\s\S]*Deny[\s\S]*9/);

  // Written elsewhere while the page is open: arrives through the blocking query.
  await put("/v1/config", { Kind: "service-intentions", Name: "*", Sources: [{ Name: "ops", Action: "allow" }] });
  await page.locator(row("data-intention", "ops:*")).waitFor();
  await page.getByLabel("Action", { exact: true }).selectOption("deny");
  await until("only deny listed", async () => (await page.locator(row("data-intention", "ops:*")).count()) === 0);
  assert.match(page.url(), /access=deny/);
  await page.getByLabel("Action", { exact: true }).selectOption("");
  await page.getByLabel("Search intentions").fill("ops");
  await until("search by name", async () => (await webDb.count()) === 0);
  await page.getByLabel("Search intentions").fill("");

  await page.getByRole("link", { name: "Create" }).click();
  await page.waitForURL("**/ui/dc1/intentions/create");
  await page.getByLabel("Source service").fill("api");
  await page.getByLabel("Destination service").fill("db");
  await page.getByLabel("Description").fill("api reads db");
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForURL("**/ui/dc1/intentions");
  assert.deepEqual(await intentionExact("api", "db").then((i) => i && { Action: i.Action, Description: i.Description }), { Action: "allow", Description: "api reads db" });
  await page.locator(row("data-intention", "api:db")).waitFor();

  await page.locator(row("data-intention", "api:db")).getByRole("link").click();
  await page.waitForURL("**/ui/dc1/intentions/default:default:api:default:default:db");
  await until("the stored description", async () => (await page.getByLabel("Description").inputValue()) === "api reads db");
  await page.getByLabel("Deny").check();
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL("**/ui/dc1/intentions");
  assert.equal((await intentionExact("api", "db"))?.Action, "deny");

  await page.getByRole("button", { name: "Delete api → db" }).click();
  await until("the intention is gone from the agent", async () => (await intentionExact("api", "db")) === undefined);
  await page.locator(row("data-intention", "api:db")).waitFor({ state: "detached" });
  assert.ok(await intentionExact("web", "db"), "the other intention is untouched");
});

// Speed is judged by what the page builds, not by the wall clock: a list that renders only
// the rows in view costs the same on any machine, while a wall-time bound fails on a busy one.
test("1,000 services render with only the rows in view in the DOM", async (t) => {
  await put("/v1/catalog/register", { Node: "bulk", Address: "10.0.1.1" });
  await registerBulk(0, 1000);
  const total = ((await (await api("GET", "/v1/internal/ui/services")).json()) as unknown[]).length;
  assert.ok(total >= 1000);
  const started = Date.now();
  await page.goto(`${agent.base}/ui/dc1/services?sort=Name:asc`);
  await page.getByText(`${total} items`).waitFor();
  t.diagnostic(`rendered in ${Date.now() - started} ms`);
  const inDom = await page.locator("[data-service]").count();
  assert.ok(inDom > 5 && inDom < 100, `${inDom} rows in the DOM`);
});

test("10,000 services: the list stays virtualised and End jumps to the last row", async (t) => {
  await registerBulk(1000, 10_000);
  const total = ((await (await api("GET", "/v1/internal/ui/services")).json()) as unknown[]).length;
  await page.goto(`${agent.base}/ui/dc1/services?sort=Name:asc`);
  await page.getByText(`${total} items`).waitFor();
  await page.getByRole("list", { name: "Services" }).focus();
  const started = Date.now();
  await page.keyboard.press("End");
  await page.locator(row("data-service", "web")).waitFor();
  t.diagnostic(`jumped to the end in ${Date.now() - started} ms`);
  const inDom = await page.locator("[data-service]").count();
  assert.ok(inDom < 100, `${inDom} rows in the DOM`);
});

test("no console errors or failed requests", () => {
  assert.deepEqual(problems, []);
});
