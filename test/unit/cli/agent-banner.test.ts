import { test } from "node:test";
import assert from "node:assert/strict";
import { formatAgentBanner } from "../../../src/cli/agent-banner.ts";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";

const io: LoadOptions = {
  hostname: () => "devhost",
  randomUUID: () => "01234567-89ab-cdef-0123-456789abcdef",
  networkInterfaces: () => ({}),
  readFile: () => Promise.reject(new Error("no files in this test")),
};
const versions = { consul: "1.20.0", consulate: "0.1.0", buildDate: "2026-11-25 00:00:00 +0000 UTC" };

async function bannerLines(): Promise<string[]> {
  const rc = await loadRuntimeConfig({ dev: true }, io);
  return formatAgentBanner(rc, versions).split("\n");
}

test("agent banner prints ACL Enabled, Reporting Enabled and ACL Default Policy right-aligned before the TLS lines", async () => {
  const lines = await bannerLines();
  const at = (label: string): number => lines.findIndex((l) => l.trimStart().startsWith(`${label}:`));
  assert.ok(lines.includes("           ACL Enabled: false"), lines.join("\n"));
  assert.ok(lines.includes("     Reporting Enabled: false"));
  assert.ok(lines.includes("    ACL Default Policy: allow"));
  assert.ok(lines.includes("     Gossip Encryption: false"));
  assert.equal(at("ACLs Enabled"), -1);
  assert.ok(at("Auto-Encrypt-TLS") < at("ACL Enabled"));
  assert.ok(at("ACL Enabled") < at("Reporting Enabled") && at("Reporting Enabled") < at("ACL Default Policy"));
  assert.ok(at("ACL Default Policy") < at("HTTPS TLS"));
  // Every label ends in the same column.
  const colons = new Set(lines.filter((l) => l.startsWith("    ") && l.includes(": ")).map((l) => l.indexOf(": ")));
  assert.deepEqual([...colons], [22]);
});

test("agent banner prints -1 for HTTPS, gRPC and gRPC-TLS, where nothing listens", async () => {
  const clientAddr = (await bannerLines()).find((l) => l.includes("Client Addr:"));
  assert.equal(clientAddr, "           Client Addr: [127.0.0.1] (HTTP: 8500, HTTPS: -1, gRPC: -1, gRPC-TLS: -1, DNS: 8600)");
});

test("agent banner TLS lines report the configured TLS settings, not fixed text", async () => {
  const rc = await loadRuntimeConfig(
    {
      dev: true,
      hcl: [
        'tls = { defaults = { tls_min_version = "TLSv1_3" } }',
      ],
    },
    io,
  );
  const lines = formatAgentBanner(rc, versions).split("\n");
  assert.ok(lines.includes("             HTTPS TLS: Verify Incoming: false, Verify Outgoing: false, Min Version: TLSv1_3"), lines.join("\n"));
  assert.ok(
    lines.includes("      Internal RPC TLS: Verify Incoming: false, Verify Outgoing: false (Verify Hostname: false), Min Version: TLSv1_3"),
    lines.join("\n"),
  );
});
