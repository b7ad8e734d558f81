// auto_encrypt's keys: where each may be used (Consul's builder errors), what they imply
// (allow_tls turns Connect on), and what start-up needs for them (a CA to check servers with,
// a certificate on the server port).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/config/config-error.ts";
import { makePki, type PkiFiles } from "../../support/tls-pki.ts";

let dir: string;
let files: PkiFiles;
const io: LoadOptions = { hostname: () => "h", randomUUID: () => "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "consulate-aecfg-"));
  files = await (await makePki(dir, "ae")).issue("server", "server");
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function load(hcl: string): Promise<Awaited<ReturnType<typeof loadRuntimeConfig>>> {
  const path = join(dir, "ae.hcl");
  writeFileSync(path, `data_dir = "${dir}"\nbind_addr = "127.0.0.1"\n${hcl}`);
  return loadRuntimeConfig({ "config-file": [path] }, io);
}

async function refused(hcl: string, pattern: RegExp): Promise<void> {
  await assert.rejects(load(hcl), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

const serverTls = () => `tls {\n  defaults {\n    ca_file = "${files.ca}"\n    cert_file = "${files.cert}"\n    key_file = "${files.key}"\n  }\n}\n`;

void test("auto_encrypt config - Consul's placement errors", async () => {
  await refused(`server = true\n${serverTls()}auto_encrypt { tls = true }\n`, /^auto_encrypt\.tls can only be used on a client\.$/);
  await refused(`auto_encrypt { allow_tls = true }\n${serverTls()}`, /^auto_encrypt\.allow_tls can only be used on a server\.$/);
});

void test("auto_encrypt config - allow_tls turns Connect on, warns without verify_incoming, and needs the server port's certificate", async () => {
  const rt = await load(`server = true\n${serverTls()}auto_encrypt { allow_tls = true }\n`);
  assert.equal(rt.connectEnabled, true);
  assert.equal(rt.autoEncrypt.allowTls, true);
  assert.ok(rt.warnings.some((w) => w.startsWith("if auto_encrypt.allow_tls is turned on, tls.internal_rpc.verify_incoming should be enabled")));
  await refused(`server = true\nauto_encrypt { allow_tls = true }\n`, /auto_encrypt\.allow_tls needs TLS on the server port/);
});

void test("auto_encrypt config - a client needs a CA, may set verify_incoming and an HTTPS port without a certificate of its own", async () => {
  const rt = await load(
    `ports { https = 8501 }\nretry_join = ["127.0.0.1"]\ntls {\n  defaults {\n    ca_file = "${files.ca}"\n    verify_incoming = true\n  }\n}\nauto_encrypt {\n  tls = true\n  dns_san = ["a.example"]\n  ip_san = ["10.0.0.9", "not-an-ip"]\n}\n`,
  );
  assert.deepEqual(rt.autoEncrypt, { tls: true, allowTls: false, dnsSan: ["a.example"], ipSan: ["10.0.0.9"] });
  assert.ok(rt.warnings.includes('Cannot parse ip "not-an-ip" from AutoEncrypt.IPSAN'));
  await refused(`auto_encrypt { tls = true }\n`, /auto_encrypt\.tls needs a CA/);
});

void test("auto_encrypt config - extra SANs without auto_encrypt.tls would do nothing, so they are refused naming the key", async () => {
  await refused(`auto_encrypt { dns_san = ["a.example"] }\n`, /auto_encrypt\.dns_san/);
});

void test("auto_encrypt config - auto_config is still refused, its server-side authorizer too, pointing at auto_encrypt", async () => {
  await refused(`auto_config { enabled = true }\n`, /^auto_config\.enabled = true .*not supported by Consulate yet: .*auto_encrypt instead/);
  await refused(`server = true\n${serverTls()}auto_config {\n  authorization {\n    enabled = true\n  }\n}\n`, /^auto_config\.authorization\.enabled = true /);
  await refused(`auto_config { intro_token = "x" }\n`, /^auto_config\.intro_token = "x" /);
});
