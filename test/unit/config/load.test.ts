import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig, validateConfigFiles, type LoadOptions } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/config/config-error.ts";

let dir: string;
let dataDir: string;

const io: LoadOptions = {
  hostname: () => "test-host",
  randomUUID: () => "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
  networkInterfaces: () => ({
    eth0: [{ address: "10.0.0.5", family: "IPv4", internal: false, netmask: "255.0.0.0", mac: "00:00:00:00:00:00", cidr: "10.0.0.5/8" }],
  }),
};

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function rejectsWith(p: Promise<unknown>, check: (err: ConfigError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    check(err);
    return true;
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "consulate-config-"));
  dataDir = join(dir, "data");
  await mkdir(dataDir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test("config - JSON file is read and resolved (datacenter lower-cased, ports merged over defaults)", async () => {
  const path = await file(
    "basic.json",
    JSON.stringify({ datacenter: "DC-West", data_dir: dataDir, node_name: "n1", ports: { http: 18500 }, bind_addr: "127.0.0.1" }),
  );
  const rt = await loadRuntimeConfig({ "config-file": [path] }, io);
  assert.equal(rt.datacenter, "dc-west");
  assert.equal(rt.primaryDatacenter, "dc-west");
  assert.equal(rt.nodeName, "n1");
  assert.equal(rt.ports.http, 18500);
  assert.equal(rt.ports.dns, 8600);
  assert.equal(rt.ports.server, 8300);
  assert.equal(rt.kvMaxValueSizeBytes, 524288);
  assert.equal(rt.dataDir, dataDir);
  assert.deepEqual(rt.configSources, [path]);
  assert.equal((rt.merged.ports as Record<string, unknown>).http, 18500);
});

void test("config - HCL blocks normalise to the JSON shape; repeated service/check blocks accumulate", async () => {
  const path = await file(
    "svc.hcl",
    `data_dir = "${dataDir}"
bind_addr = "127.0.0.1"
ports {
  http = 8501
}
acl {
  enabled = false
  default_policy = "deny"
  tokens {
    agent = "agent-secret"
  }
}
service {
  name = "web"
  port = 80
  check {
    http     = "http://localhost/health"
    interval = "10s"
  }
  check {
    ttl = "30s"
  }
}
service {
  Name = "db"
  ID   = "db1"
  Tags = ["primary"]
}
services = [{ name = "cache" }]
check {
  id  = "node-check"
  name = "node check"
  ttl = "1m"
}
`,
  );
  const rt = await loadRuntimeConfig({ "config-file": [path] }, io);
  assert.equal(rt.ports.http, 8501);
  assert.equal(rt.aclEnabled, false);
  assert.equal(rt.aclDefaultPolicy, "deny");
  assert.equal(rt.aclTokens.agent, "agent-secret");
  const names = rt.services.map((s) => (s as Record<string, unknown>).name).sort();
  assert.deepEqual(names, ["cache", "db", "web"]);
  const web = rt.services.find((s) => (s as Record<string, unknown>).name === "web") as Record<string, unknown>;
  assert.deepEqual(web.checks, [{ http: "http://localhost/health", interval: "10s" }, { ttl: "30s" }]);
  const db = rt.services.find((s) => (s as Record<string, unknown>).name === "db") as Record<string, unknown>;
  assert.deepEqual(db, { name: "db", id: "db1", tags: ["primary"] });
  assert.deepEqual(rt.checks, [{ id: "node-check", name: "node check", ttl: "1m" }]);
});

void test("config - service blocks accept CamelCase aliases (ServiceID, TLSSkipVerify, ScriptArgs, DeregisterCriticalServiceAfter)", async () => {
  const path = await file(
    "camel.json",
    JSON.stringify({
      data_dir: dataDir,
      bind_addr: "127.0.0.1",
      Service: {
        Name: "api",
        EnableTagOverride: true,
        Checks: [{ CheckID: "c1", HTTP: "https://x", TLSSkipVerify: true, Interval: "5s", DeregisterCriticalServiceAfter: "90m" }],
      },
      checks: [{ Name: "s", ServiceID: "api", ScriptArgs: ["/bin/true"], Interval: "10s" }],
    }),
  );
  const rt = await loadRuntimeConfig({ "config-file": [path] }, io);
  assert.deepEqual(rt.services, [
    {
      name: "api",
      enable_tag_override: true,
      checks: [{ id: "c1", http: "https://x", tls_skip_verify: true, interval: "5s", deregister_critical_service_after: "90m" }],
    },
  ]);
  assert.deepEqual(rt.checks, [{ name: "s", service_id: "api", args: ["/bin/true"], interval: "10s" }]);
});

void test("config - merge order: later files win for scalars, lists append, maps merge key by key", async () => {
  const a = await file("m1.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1", log_level: "warn", retry_join: ["a"], node_meta: { x: "1", y: "1" }, services: [{ name: "s1" }] }));
  const b = await file("m2.hcl", `log_level = "error"\nretry_join = ["b"]\nnode_meta { y = "2" }\nservice { name = "s2" }\n`);
  const rt = await loadRuntimeConfig({ "config-file": [a, b], "retry-join": ["flag"] }, io);
  assert.equal(rt.logLevel, "error");
  // list flags are merged before the files
  assert.deepEqual(rt.retryJoin, ["flag", "a", "b"]);
  assert.deepEqual(rt.nodeMeta, { x: "1", y: "2" });
  assert.deepEqual(
    rt.services.map((s) => (s as Record<string, unknown>).name),
    ["s1", "s2"],
  );
});

void test("config - scalar flags override files; -hcl fragments override flags", async () => {
  const path = await file("ovr.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1", node_name: "from-file", datacenter: "dc1", ports: { http: 1111, dns: 2222 } }));
  const rt = await loadRuntimeConfig(
    { "config-file": [path], node: "from-flag", datacenter: "dc2", "http-port": 3333, hcl: ['datacenter = "dc3"'] },
    io,
  );
  assert.equal(rt.nodeName, "from-flag");
  assert.equal(rt.ports.http, 3333);
  assert.equal(rt.ports.dns, 2222);
  assert.equal(rt.datacenter, "dc3");
});

void test("config - -node-meta key:value flags split at the first colon and merge over files", async () => {
  const path = await file("meta.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1", node_meta: { rack: "r1", zone: "z1" } }));
  const rt = await loadRuntimeConfig({ "config-file": [path], "node-meta": ["zone:z2", "url:http://x:1"] }, io);
  assert.deepEqual(rt.nodeMeta, { rack: "r1", zone: "z2", url: "http://x:1" });
  await rejectsWith(loadRuntimeConfig({ dev: true, "node-meta": ["novalue"] }, io), (err) => {
    assert.match(err.message, /Missing ":" in value "novalue"/);
  });
  await rejectsWith(loadRuntimeConfig({ dev: true, "node-meta": ["consul-x:1"] }, io), (err) => {
    assert.equal(err.message, "node_meta invalid: Key prefix 'consul-' is reserved for internal use");
  });
});

void test("config - -config-dir loads *.json and *.hcl in lexical order and skips other files", async () => {
  const cdir = join(dir, "conf.d");
  await mkdir(cdir);
  await mkdir(join(cdir, "sub.json")); // directories are not recursed into
  await writeFile(join(cdir, "20-b.hcl"), 'node_name = "from-b"\n');
  await writeFile(join(cdir, "10-a.json"), JSON.stringify({ node_name: "from-a", data_dir: dataDir, bind_addr: "127.0.0.1" }));
  await writeFile(join(cdir, "30-c.txt"), "not config");
  const rt = await loadRuntimeConfig({ "config-dir": [cdir] }, io);
  assert.equal(rt.nodeName, "from-b");
  assert.deepEqual(rt.configSources, [join(cdir, "10-a.json"), join(cdir, "20-b.hcl")]);
  assert.ok(rt.warnings.some((w) => w.includes("30-c.txt")));
});

void test("config - -config-format forces the format regardless of extension", async () => {
  const path = await file("forced.conf", `data_dir = "${dataDir}"\nbind_addr = "127.0.0.1"\nnode_name = "forced"\n`);
  const rt = await loadRuntimeConfig({ "config-file": [path], "config-format": "hcl" }, io);
  assert.equal(rt.nodeName, "forced");
  await rejectsWith(loadRuntimeConfig({ "config-file": [path], "config-format": "yaml" as "hcl" }, io), (err) => {
    assert.equal(err.message, "config: -config-format must be either 'hcl' or 'json'");
  });
});

void test("config - unknown key stops start-up with an error naming the key and the file", async () => {
  const path = await file("unknown.hcl", `data_dir = "${dataDir}"\nfoo = 1\nports {\n  htp = 1\n}\n`);
  await rejectsWith(loadRuntimeConfig({ "config-file": [path] }, io), (err) => {
    assert.equal(err.message, `failed to parse ${path}: 2 errors occurred:\n\t* invalid config key foo\n\t* invalid config key ports.htp\n\n`);
    assert.equal(err.source, path);
    assert.equal(err.key, "foo");
  });
  const nested = await file("unknown-svc.json", JSON.stringify({ services: [{ name: "a", bogus: true }] }));
  await rejectsWith(loadRuntimeConfig({ "config-file": [nested] }, io), (err) => {
    assert.equal(err.message, `failed to parse ${nested}: 1 error occurred:\n\t* invalid config key services[0].bogus\n\n`);
  });
});

void test("config - keys set to what this build already does are accepted", async () => {
  const path = await file(
    "full.hcl",
    `data_dir = "${dataDir}"
bind_addr = "127.0.0.1"
telemetry {
  prometheus_retention_time = "60s"
  disable_hostname = true
  metrics_prefix = "consul"
}
performance { raft_multiplier = 1 }
autopilot { cleanup_dead_servers = false }
connect { enabled = false }
peering { enabled = true }
tls {
  defaults { verify_incoming = false }
}
limits {
  kv_max_value_size = 1024
  rpc_rate = -1
}
http_config { block_endpoints = ["/v1/acl"] }
dns_config {
  service_ttl = { "*" = "5s" }
}
default_query_time = "5m"
encrypt_verify_incoming = true
enable_syslog = false
`,
  );
  const rt = await loadRuntimeConfig({ "config-file": [path] }, io);
  assert.equal(rt.prometheusRetentionTimeMs, 60_000);
  assert.equal(rt.kvMaxValueSizeBytes, 1024);
  assert.deepEqual(rt.blockEndpoints, ["/v1/acl"]);
  assert.deepEqual(rt.dns.serviceTtlMs, { "*": 5000 });
});

void test("config - keys this build would not honour are refused, each naming the key and the file", async () => {
  const cases: Array<[string, string]> = [
    [`connect {\n  ca_provider = "vault"\n}`, `connect.ca_provider = "vault"`],
    [`connect {\n  enable_mesh_gateway_wan_federation = true\n}`, "connect.enable_mesh_gateway_wan_federation = true"],
    [`enable_syslog = true`, "enable_syslog = true"],
    [`snapshot_agent {\n  snapshot { interval = "1h" }\n}`, "snapshot_agent = "],
    [`ports { grpc = 8502 }`, "ports.grpc = 8502"],
    [`tls {\n  grpc { verify_incoming = true }\n}`, "tls.grpc.verify_incoming = true"],
    [`server_name = "node1.example"`, `server_name = "node1.example"`],
    [`auto_encrypt { dns_san = ["a.example"] }`, `auto_encrypt.dns_san = ["a.example"]`],
    [`ui_config { metrics_provider = "prometheus" }`, `ui_config.metrics_provider = "prometheus"`],
    [`max_query_time = "30s"`, `max_query_time = "30s"`],
    [`limits { rpc_rate = 100 }`, "limits.rpc_rate = 100"],
    [`http_config { response_headers = { "Access-Control-Allow-Origin" = "*" } }`, "http_config.response_headers = "],
    [`watches = [{ type = "key", key = "a", args = ["/bin/true"] }]`, "watches = "],
    [`telemetry { statsd_address = "127.0.0.1:8125" }`, `telemetry.statsd_address = "127.0.0.1:8125"`],
    [`client_addr = "127.0.0.1 10.0.0.5"`, `client_addr = "127.0.0.1 10.0.0.5"`],
  ];
  for (const [hcl, shown] of cases) {
    const path = await file("refused.hcl", `data_dir = "${dataDir}"\nbind_addr = "127.0.0.1"\n${hcl}\n`);
    await rejectsWith(loadRuntimeConfig({ "config-file": [path] }, io), (err) => {
      assert.ok(err.message.startsWith(shown), `${hcl}: ${err.message}`);
      assert.ok(err.message.includes(`(set in ${path}) is not supported by Consulate yet: `), err.message);
      assert.equal(err.source, path);
    });
  }
  // Several at once are all reported; a flag is named as such.
  await rejectsWith(loadRuntimeConfig({ "data-dir": dataDir, bind: "127.0.0.1", syslog: true, "grpc-port": 8502 }, io), (err) => {
    assert.match(err.message, /^2 errors occurred:/);
    assert.match(err.message, /ports\.grpc = 8502 \(set in command-line flags\)/);
    assert.match(err.message, /enable_syslog = true \(set in command-line flags\)/);
  });
  // The UI is served now: -ui, ui_config.dir and content_path are honoured, not refused.
  const ui = await loadRuntimeConfig({ "data-dir": dataDir, bind: "127.0.0.1", ui: true, "ui-content-path": "/console" }, io);
  assert.equal(ui.uiEnabled, true);
  assert.equal(ui.uiContentPath, "/console/");
  // Gossip's rolling encryption roll-out is honoured now (transport/gossip-crypto.ts), not refused.
  const rollout = await file("rollout.hcl", `data_dir = "${dataDir}"\nbind_addr = "127.0.0.1"\nencrypt_verify_incoming = false\nencrypt_verify_outgoing = false\n`);
  const rolling = await loadRuntimeConfig({ "config-file": [rollout] }, io);
  assert.equal(rolling.encryptVerifyIncoming, false);
  assert.equal(rolling.encryptVerifyOutgoing, false);
  // -dev's own profile (connect, ui, grpc port) is not the operator's choice and never refused.
  const dev = await loadRuntimeConfig({ dev: true }, io);
  assert.equal(dev.connectEnabled, true);
});

void test("config - bad values stop start-up naming key and file (type, duration, IP, port, datacenter)", async () => {
  const cases: Array<[string, string]> = [
    [`ports { http = "x" }`, `1 error(s) decoding:\n\n* 'ports.http' expected type 'int', got unconvertible type 'string', value: 'x'`],
    [`server = "yes"`, `1 error(s) decoding:\n\n* 'server' expected type 'bool', got unconvertible type 'string', value: 'yes'`],
    [`session_ttl_min = "10 s"`, `1 error occurred:\n\t* session_ttl_min: invalid duration: "10 s": time: invalid duration "10 s"\n\n`],
    [`bind_addr = "999.1.1.1"`, `1 error occurred:\n\t* bind_addr: invalid ip address: 999.1.1.1\n\n`],
    [`ports { dns = 70000 }`, `1 error occurred:\n\t* ports.dns: invalid port: 70000\n\n`],
    [`datacenter = "dc 1"`, `1 error occurred:\n\t* datacenter can only contain lowercase alphanumeric, - or _ characters. received: "dc 1"\n\n`],
  ];
  for (const [hcl, expected] of cases) {
    const path = await file("bad.hcl", hcl + "\n");
    await rejectsWith(loadRuntimeConfig({ "config-file": [path], dev: true }, io), (err) => {
      assert.equal(err.message, `failed to parse ${path}: ${expected}`);
      assert.equal(err.source, path);
    });
  }
});

void test("config - HCL syntax errors name the file", async () => {
  const path = await file("syntax.hcl", "a = \n");
  await rejectsWith(loadRuntimeConfig({ "config-file": [path], dev: true }, io), (err) => {
    assert.ok(err.message.startsWith(`failed to parse ${path}: `));
    assert.equal(err.source, path);
  });
});

void test("config - an HCL1 nested block inside a list's object is refused with the HCL2 spelling to use", async () => {
  const hcl = `config_entries {\n  bootstrap = [\n    {\n      Kind = "proxy-defaults"\n      Name = "global"\n      Config {\n        protocol = "http"\n      }\n    }\n  ]\n}\n`;
  const path = await file("nested-block.hcl", hcl);
  await rejectsWith(loadRuntimeConfig({ "config-file": [path], dev: true }, io), (err) => {
    assert.ok(err.message.startsWith(`failed to parse ${path}: `), err.message);
    assert.ok(err.message.endsWith("(inside an object in a list, HCL2 needs an equals sign: write `Config = { ... }`; the HCL1 nested-block form `Config { ... }` is not supported there)"), err.message);
  });
});

void test("config - non-dev without data_dir fails like Consul", async () => {
  await rejectsWith(loadRuntimeConfig({}, io), (err) => {
    assert.equal(err.message, "data_dir cannot be empty");
    assert.equal(err.key, "data_dir");
  });
  const notDir = await file("plain-file", "x");
  await rejectsWith(loadRuntimeConfig({ "data-dir": notDir }, io), (err) => {
    assert.equal(err.message, `data_dir "${notDir}" is not a directory`);
  });
});

void test("config - semantic checks: bootstrap needs server, bootstrap_expect exclusive, bad encrypt key", async () => {
  await rejectsWith(loadRuntimeConfig({ "data-dir": dataDir, bind: "127.0.0.1", bootstrap: true }, io), (err) => {
    assert.equal(err.message, "'bootstrap = true' requires 'server = true'");
  });
  await rejectsWith(loadRuntimeConfig({ "data-dir": dataDir, bind: "127.0.0.1", server: true, bootstrap: true, "bootstrap-expect": 3 }, io), (err) => {
    assert.equal(err.message, "'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive");
  });
  await rejectsWith(loadRuntimeConfig({ dev: true, "bootstrap-expect": 3 }, io), (err) => {
    assert.equal(err.message, "'bootstrap_expect > 0' not allowed in dev mode");
  });
  await rejectsWith(loadRuntimeConfig({ dev: true, encrypt: "c2hvcnQ=" }, io), (err) => {
    assert.equal(err.message, "encrypt has invalid key: key size must be 16, 24 or 32 bytes");
  });
});

void test("config - bind 0.0.0.0 advertises the single private IPv4", async () => {
  const rt = await loadRuntimeConfig({ "data-dir": dataDir }, io);
  assert.equal(rt.bindAddr, "0.0.0.0");
  assert.equal(rt.advertiseAddr, "10.0.0.5");
  assert.equal(rt.taggedAddresses.lan, "10.0.0.5");
  assert.equal(rt.nodeName, "test-host");
  assert.equal(rt.nodeId, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
  assert.equal(rt.nodeIdGenerated, true);
  assert.equal(rt.leaveOnTerminate, true);
  assert.equal(rt.skipLeaveOnInterrupt, false);
});

void test("config - bootstrap_expect = 1 is bootstrap mode", async () => {
  const rt = await loadRuntimeConfig({ "data-dir": dataDir, bind: "127.0.0.1", server: true, "bootstrap-expect": 1 }, io);
  assert.equal(rt.bootstrap, true);
  assert.equal(rt.bootstrapExpect, 0);
  assert.equal(rt.selfElect, true);
  assert.ok(rt.warnings.includes("BootstrapExpect is set to 1; this is the same as Bootstrap mode."));
});

void test("config - validate checks files without starting anything", async () => {
  const good = await file("valid.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1" }));
  await validateConfigFiles([good], io);
  const bad = await file("invalid.json", JSON.stringify({ data_dir: dataDir, nope: true }));
  await rejectsWith(validateConfigFiles([bad], io), (err) => {
    assert.match(err.message, /invalid config key nope/);
  });
  await rejectsWith(validateConfigFiles([join(dir, "missing.json")], io), (err) => {
    assert.match(err.message, /^config: Open failed on /);
  });
});

void test("config - the acl stanza is honoured: every key reaches the runtime config", async () => {
  const base = await file("base.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1" }));
  const acl = await file(
    "acl-on.hcl",
    'acl {\n  enabled = true\n  default_policy = "deny"\n  down_policy = "async-cache"\n  token_ttl = "45s"\n  policy_ttl = "1m"\n  role_ttl = "2m"\n  enable_token_persistence = true\n  enable_token_replication = true\n' +
      '  tokens {\n    initial_management = "im"\n    agent = "ag"\n    agent_recovery = "ar"\n    default = "df"\n    dns = "dn"\n    config_file_service_registration = "cf"\n    replication = "rp"\n  }\n}\n',
  );
  const rt = await loadRuntimeConfig({ "config-file": [base, acl] }, io);
  assert.equal(rt.aclEnabled, true);
  assert.equal(rt.aclDefaultPolicy, "deny");
  assert.equal(rt.aclDownPolicy, "async-cache");
  assert.deepEqual([rt.aclTokenTtlMs, rt.aclPolicyTtlMs, rt.aclRoleTtlMs], [45_000, 60_000, 120_000]);
  assert.equal(rt.aclEnableTokenPersistence, true);
  assert.equal(rt.aclEnableTokenReplication, true);
  assert.deepEqual(rt.aclTokens, { initialManagement: "im", agent: "ag", agentRecovery: "ar", default: "df", dns: "dn", configFileServiceRegistration: "cf", replication: "rp" });
  // A later source that turns it off again wins, as merging does for every scalar.
  const off = await file("acl-off.hcl", "acl { enabled = false }\n");
  assert.equal((await loadRuntimeConfig({ "config-file": [base, acl, off] }, io)).aclEnabled, false);
  // Defaults: allow, extend-cache, 30s caches.
  const plain = await loadRuntimeConfig({ "config-file": [base] }, io);
  assert.deepEqual([plain.aclEnabled, plain.aclDefaultPolicy, plain.aclDownPolicy, plain.aclTokenTtlMs], [false, "allow", "extend-cache", 30_000]);
});

void test("config - legacy ACL names map to acl.* (the new name wins within a source, a legacy key beats a default) with Consul's warnings", async () => {
  const base = await file("base.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1" }));
  const legacy = await file(
    "acl-legacy.json",
    JSON.stringify({
      acl_datacenter: "DC1",
      acl_default_policy: "deny",
      acl_down_policy: "deny",
      acl_ttl: "10s",
      acl_master_token: "m",
      acl_agent_token: "a",
      acl_agent_master_token: "am",
      acl_token: "t",
      acl_replication_token: "r",
      acl: { tokens: { master: "newer-m", agent_master: "newer-am" } },
    }),
  );
  const rt = await loadRuntimeConfig({ "config-file": [base, legacy] }, io);
  assert.equal(rt.aclEnabled, true, "acl_datacenter turns ACLs on");
  assert.equal(rt.primaryDatacenter, "dc1");
  assert.equal(rt.aclDefaultPolicy, "deny");
  assert.equal(rt.aclDownPolicy, "deny");
  assert.equal(rt.aclTokenTtlMs, 10_000);
  assert.equal(rt.aclEnableTokenReplication, true, "acl_replication_token implies token replication");
  assert.deepEqual(rt.aclTokens, { initialManagement: "newer-m", agent: "a", agentRecovery: "newer-am", default: "t", dns: "", configFileServiceRegistration: "", replication: "r" });
  assert.ok(rt.warnings.includes("The 'acl_master_token' field is deprecated. Use the 'acl.tokens.initial_management' field instead."));
  assert.ok(rt.warnings.includes("The 'acl.tokens.agent_master' field is deprecated. Use the 'acl.tokens.agent_recovery' field instead."));
  assert.ok(rt.warnings.includes("The 'acl_datacenter' field is deprecated. Use the 'primary_datacenter' field instead."));
  // A new-style key in a later source still overrides the legacy one.
  const later = await file("acl-later.hcl", 'acl { default_policy = "allow" }\n');
  assert.equal((await loadRuntimeConfig({ "config-file": [base, legacy, later] }, io)).aclDefaultPolicy, "allow");
});

void test("config - ACL keys with no effect are refused, naming the key as written and the file", async () => {
  const base = await file("base.json", JSON.stringify({ data_dir: dataDir, bind_addr: "127.0.0.1" }));
  await rejectsWith(loadRuntimeConfig({ "config-file": [base], hcl: ['acl_datacenter = "dc2"'] }, io), (err) => {
    assert.equal(err.key, "acl.enabled");
    assert.equal(err.source, "flags-0.hcl");
    assert.match(err.message, /^acl\.enabled \(written as acl_datacenter\) = true \(set in flags-0\.hcl\) is not supported by Consulate yet: ACLs in a secondary datacenter/);
  });
  await rejectsWith(loadRuntimeConfig({ "config-file": [base], hcl: ['primary_datacenter = "dc0"', "acl { enabled = true }"] }, io), (err) => {
    assert.equal(err.key, "acl.enabled");
  });
  // Honoured (recursive KV reads need key:list), under its legacy name too.
  assert.equal((await loadRuntimeConfig({ "config-file": [base], hcl: ["acl_enable_key_list_policy = true"] }, io)).aclEnableKeyListPolicy, true);
  await rejectsWith(loadRuntimeConfig({ "config-file": [base], hcl: ["acl { msp_disable_bootstrap = true }"] }, io), (err) => {
    assert.equal(err.key, "acl.msp_disable_bootstrap");
  });
  await rejectsWith(loadRuntimeConfig({ dev: true, hcl: ["acl {\n enabled = true\n enable_token_persistence = true\n}"] }, io), (err) => {
    assert.equal(err.key, "acl.enable_token_persistence");
    assert.match(err.message, /needs a data_dir/);
  });
  await rejectsWith(loadRuntimeConfig({ "config-file": [base], hcl: ['acl { down_policy = "sometimes" }'] }, io), (err) => {
    assert.equal(err.key, "acl.down_policy");
    assert.match(err.message, /acl\.down_policy must be one of "extend-cache", "async-cache", "allow" or "deny", got "sometimes"/);
  });
});

void test("config - connect.enabled and connect.ca_config are honoured; a bad ca_config stops start-up naming the key", async () => {
  const ok = await file("connect.hcl", `data_dir = "${dataDir}"\nbind_addr = "127.0.0.1"\nserver = true\nconnect {\n  enabled = true\n  ca_config {\n    leaf_cert_ttl = "24h"\n    private_key_type = "rsa"\n    private_key_bits = 2048\n  }\n}\n`);
  const rt = await loadRuntimeConfig({ "config-file": [ok] }, io);
  assert.equal(rt.connectEnabled, true);
  assert.deepEqual(rt.connectCaConfig, { leaf_cert_ttl: "24h", private_key_type: "rsa", private_key_bits: 2048 });
  const bad = await file("connect-bad.hcl", `data_dir = "${dataDir}"\nbind_addr = "127.0.0.1"\nconnect {\n  ca_config {\n    leaf_cert_ttl = "30m"\n  }\n}\n`);
  await rejectsWith(loadRuntimeConfig({ "config-file": [bad] }, io), (err) => {
    assert.match(err.message, /connect\.ca_config: leaf cert TTL must be greater or equal than 1h0m0s/);
  });
  const unknown = await file("connect-unknown.hcl", `data_dir = "${dataDir}"\nbind_addr = "127.0.0.1"\nconnect {\n  ca_config {\n    bogus_key = 1\n  }\n}\n`);
  await rejectsWith(loadRuntimeConfig({ "config-file": [unknown] }, io), (err) => {
    assert.match(err.message, /connect\.ca_config: unknown CA config key "bogus_key"/);
  });
});
