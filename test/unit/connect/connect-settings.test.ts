import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startDevAgent } from "../../../src/mod.ts";
import { eventually } from "../../support/eventually.ts";

describe("connect agent settings", () => {
  it("with connect disabled the CA endpoints answer Consul's error while intentions still work", async () => {
    const agent = await startDevAgent({ dnsPort: -1, hcl: ["connect { enabled = false }"] });
    try {
      for (const path of ["/v1/connect/ca/roots", "/v1/connect/ca/configuration", "/v1/agent/connect/ca/roots", "/v1/agent/connect/ca/leaf/web"]) {
        const res = await fetch(`${agent.httpAddress}${path}`);
        assert.deepEqual([res.status, await res.text()], [500, "Connect must be enabled in order to use this endpoint"], path);
      }
      const put = await fetch(`${agent.httpAddress}/v1/connect/intentions/exact?source=web&destination=db`, { method: "PUT", body: JSON.stringify({ Action: "deny" }) });
      assert.equal((await put.text()).trim(), "true");
      const check = await fetch(`${agent.httpAddress}/v1/connect/intentions/check?source=web&destination=db`);
      assert.deepEqual(await check.json(), { Allowed: false });
    } finally {
      await agent.stop();
    }
  });

  it("csr_max_per_second limits signing with Consul's 429", async () => {
    const agent = await startDevAgent({ dnsPort: -1, hcl: ['connect {\n  ca_config {\n    csr_max_per_second = 1\n  }\n}'] });
    try {
      await eventually("the CA to initialise", async () => (await fetch(`${agent.httpAddress}/v1/connect/ca/roots`)).status === 200 && ((await (await fetch(`${agent.httpAddress}/v1/connect/ca/roots`)).json()) as { Roots: unknown[] }).Roots.length === 1);
      const statuses: number[] = [];
      let limited = "";
      for (const svc of ["a", "b", "c"]) {
        const res = await fetch(`${agent.httpAddress}/v1/agent/connect/ca/leaf/${svc}`);
        statuses.push(res.status);
        if (res.status === 429) limited = await res.text();
        else await res.arrayBuffer();
      }
      assert.equal(statuses[0], 200);
      assert.ok(statuses.includes(429), `statuses ${statuses.join(",")}`);
      assert.equal(limited, "Rate limit reached, try again later");
    } finally {
      await agent.stop();
    }
  });
});

describe("config_entries bootstrap", () => {
  it("a new leader writes the bootstrap entries (defaults first, so L7 intentions validate) and refuses invalid ones at start", async () => {
    const hcl = `config_entries {
  bootstrap = [
    {
      kind = "service-intentions"
      name = "api"
      sources = [
        {
          name = "web"
          permissions = [{ action = "allow", http = { path_prefix = "/v1" } }]
        }
      ]
    },
    {
      kind     = "service-defaults"
      name     = "api"
      protocol = "http"
    }
  ]
}`;
    const agent = await startDevAgent({ dnsPort: -1, hcl: [hcl] });
    try {
      await eventually("the bootstrap entries", async () => (await fetch(`${agent.httpAddress}/v1/config/service-intentions/api`)).status === 200);
      const entry = (await (await fetch(`${agent.httpAddress}/v1/config/service-intentions/api`)).json()) as { Sources: { Name: string; Permissions: unknown[] }[] };
      assert.deepEqual(entry.Sources[0].Permissions, [{ Action: "allow", HTTP: { PathPrefix: "/v1" } }]);
      const defaults = (await (await fetch(`${agent.httpAddress}/v1/config/service-defaults/api`)).json()) as { Protocol: string };
      assert.equal(defaults.Protocol, "http");
    } finally {
      await agent.stop();
    }
    await assert.rejects(startDevAgent({ dnsPort: -1, hcl: ['config_entries {\n  bootstrap = [{ kind = "service-intentions", name = "db", sources = [{ name = "web" }] }]\n}'] }), /config_entries\.bootstrap\[0\]: Sources\[0\]\.Action must be set to 'allow' or 'deny'/);
  });
});

describe("operator-supplied CA", () => {
  it("a root certificate and key from connect.ca_config become the active root and sign leaves", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { mkdtemp, readFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { X509Certificate } = await import("node:crypto");
    const run = promisify(execFile);
    const dir = await mkdtemp(join(tmpdir(), "consulate-own-ca-"));
    try {
      await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "key.pem")]);
      await run("openssl", ["req", "-x509", "-new", "-key", join(dir, "key.pem"), "-subj", "/CN=Own Root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", "-out", join(dir, "root.pem")]);
      const key = await readFile(join(dir, "key.pem"), "utf8");
      const root = await readFile(join(dir, "root.pem"), "utf8");
      const hcl = `connect {\n  ca_config {\n    private_key = ${JSON.stringify(key)}\n    root_cert = ${JSON.stringify(root)}\n  }\n}`;
      const agent = await startDevAgent({ dnsPort: -1, hcl: [hcl] });
      try {
        await eventually("the CA to initialise", async () => (((await (await fetch(`${agent.httpAddress}/v1/connect/ca/roots`)).json()) as { Roots: unknown[] }).Roots.length === 1));
        const roots = (await (await fetch(`${agent.httpAddress}/v1/connect/ca/roots`)).json()) as { Roots: { RootCert: string }[] };
        assert.equal(roots.Roots[0].RootCert.trim(), root.trim());
        const leaf = (await (await fetch(`${agent.httpAddress}/v1/agent/connect/ca/leaf/web`)).json()) as { CertPEM: string };
        assert.ok(new X509Certificate(leaf.CertPEM).verify(new X509Certificate(root).publicKey));
        const config = (await (await fetch(`${agent.httpAddress}/v1/connect/ca/configuration`)).json()) as { Config: Record<string, unknown> };
        assert.equal(config.Config.PrivateKey, undefined, "the private key is never shown");
        assert.equal(typeof config.Config.RootCert, "string");
      } finally {
        await agent.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
