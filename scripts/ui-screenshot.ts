// Takes docs/ui-services.png (the README's screenshot): an in-process agent with a few
// services in various health, the services page in headless Chromium.
// Run: npx tsx scripts/ui-screenshot.ts (needs /usr/bin/chromium and `npm run build`).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startTestAgent } from "../test/support/test-agent.ts";

const agent = await startTestAgent({ ui: { contentPath: "/ui/", dir: "" } });
const register = async (body: unknown): Promise<void> => {
  const res = await fetch(`${agent.base}/v1/catalog/register`, { method: "PUT", body: JSON.stringify(body) });
  if (!res.ok) throw new Error(await res.text());
};
const services: [string, string[], ("passing" | "warning" | "critical")[]][] = [
  ["api-gateway", ["edge", "v3"], ["passing", "passing"]],
  ["billing", ["v1"], ["passing", "critical"]],
  ["cache", ["redis"], ["passing", "warning"]],
  ["checkout", ["v2", "canary"], ["passing", "passing", "passing"]],
  ["inventory", ["v5"], ["passing"]],
  ["notifications", ["queue"], ["warning"]],
  ["payments", ["pci", "v4"], ["passing", "passing"]],
  ["search", ["elastic"], ["passing", "passing"]],
  ["web", ["frontend", "v12"], ["passing", "passing", "passing", "passing"]],
];
for (const [name, tags, states] of services) {
  for (const [i, status] of states.entries()) {
    const node = `node-${(i % 3) + 1}`;
    await register({
      Node: node,
      Address: `10.0.0.${(i % 3) + 1}`,
      Check: { CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing" },
      Service: { ID: `${name}-${i}`, Service: name, Tags: tags, Port: 8000 + i },
      Checks: [{ CheckID: `${name}-${i}-http`, Name: "HTTP", Status: status, ServiceID: `${name}-${i}` }],
    });
  }
}
const profile = await mkdtemp(join(tmpdir(), "consulate-ui-shot-"));
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const context = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", headless: true, args, viewport: { width: 1200, height: 760 } });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${agent.base}/ui/dc1/services`);
  await page.locator('[data-service="web"]').waitFor();
  await page.screenshot({ path: fileURLToPath(new URL("../docs/ui-services.png", import.meta.url)) });
} finally {
  await context.close();
  await agent.stop();
  await rm(profile, { recursive: true, force: true });
}
