import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import { dnsSettingsFromConfig } from "../../../src/dns/dns-settings.ts";

// limits.dns_max_qps_per_client reaches the DNS server's settings (and so every reload).

const io: LoadOptions = {
  hostname: () => "test-host",
  randomUUID: () => "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
  networkInterfaces: () => ({
    eth0: [{ address: "10.0.0.5", family: "IPv4", internal: false, netmask: "255.0.0.0", mac: "00:00:00:00:00:00", cidr: "10.0.0.5/8" }],
  }),
};

test("dns rate limit config - default 10,000/s per source; limits.dns_max_qps_per_client overrides it, 0 lifts it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-dnsrate-"));
  try {
    const load = async (extra: string): Promise<number> => {
      const path = join(dir, "c.hcl");
      await writeFile(path, `data_dir = ${JSON.stringify(dir)}\nnode_name = "n1"\nbind_addr = "127.0.0.1"\n${extra}\n`);
      return dnsSettingsFromConfig(await loadRuntimeConfig({ "config-file": [path] }, io)).maxQpsPerSource;
    };
    assert.equal(await load(""), 10_000);
    assert.equal(await load("limits { dns_max_qps_per_client = 250 }"), 250);
    assert.equal(await load("limits { dns_max_qps_per_client = 0 }"), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
