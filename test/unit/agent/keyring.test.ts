import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base64Problem, decodeKeyRequest, decodeKeyResponse, encodeKeyRequest, encodeKeyResponse, summarizeKeyAnswers } from "../../../src/agent/keyring-query.ts";
import { loadLanKeyring, loadWanKeyring, MISSING_ENCRYPT_KEY_WARNING, type KeyringSettings } from "../../../src/agent/keyring-setup.ts";
import { LocalKeyring, type NodeKeyResponse } from "../../../src/agent/local-keyring.ts";
import { keyringErrorText } from "../../../src/http/handlers/operator-keyring.ts";
import { formatKeyringPool } from "../../../src/cli/keyring.ts";
import { createLogger } from "../../../src/runtime/logger.ts";
import { Keyring, keygen } from "../../../src/transport/gossip-crypto.ts";

const K1 = keygen();
const K2 = keygen();
const K3 = keygen();

function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: "trace", json: false, write: (l) => lines.push(l) }), lines };
}

async function withDataDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "consulate-keyring-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const settings = (dataDir: string, encryptKey: string, disableKeyringFile = false): KeyringSettings => ({ dataDir, encryptKey, disableKeyringFile, inMemory: false });

test("-encrypt seeds the keyring file on the first start", () =>
  withDataDir(async (dir) => {
    const { keyring, file } = await loadLanKeyring(settings(dir, K1), recordingLogger().logger);
    assert.deepEqual(keyring?.keys(), [K1]);
    assert.equal(file, join(dir, "serf", "local.keyring"));
    assert.deepEqual(JSON.parse(await readFile(join(dir, "serf", "local.keyring"), "utf8")), [K1]);
  }));

test("a server's WAN pool keeps its own file, serf/remote.keyring, apart from the LAN one", () =>
  withDataDir(async (dir) => {
    const wan = await loadWanKeyring(settings(dir, K1), recordingLogger().logger);
    assert.equal(wan.file, join(dir, "serf", "remote.keyring"));
    await writeFile(join(dir, "serf", "remote.keyring"), JSON.stringify([K2]));
    assert.deepEqual((await loadWanKeyring(settings(dir, K1), recordingLogger().logger)).keyring?.keys(), [K2]);
    assert.deepEqual((await loadLanKeyring(settings(dir, K1), recordingLogger().logger)).keyring?.keys(), [K1]);
  }));

test("an existing keyring file wins over -encrypt, with Consul's warning, and never logs keys", () =>
  withDataDir(async (dir) => {
    await mkdir(join(dir, "serf"));
    await writeFile(join(dir, "serf", "local.keyring"), JSON.stringify([K2, K3]));
    const { logger, lines } = recordingLogger();
    const { keyring } = await loadLanKeyring(settings(dir, K1), logger);
    assert.deepEqual(keyring?.keys(), [K2, K3]);
    assert.equal(keyring?.primaryKey, K2);
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(MISSING_ENCRYPT_KEY_WARNING));
    assert.ok(!lines[0].includes(K1) && !lines[0].includes(K2));
    // No warning when the file holds the -encrypt key, nor without -encrypt.
    const quiet = recordingLogger();
    assert.deepEqual((await loadLanKeyring(settings(dir, K3), quiet.logger)).keyring?.keys(), [K2, K3]);
    assert.deepEqual((await loadLanKeyring(settings(dir, ""), quiet.logger)).keyring?.keys(), [K2, K3]);
    assert.deepEqual(quiet.lines, []);
  }));

test("disable_keyring_file keeps -encrypt in memory; no key and no file means no encryption", () =>
  withDataDir(async (dir) => {
    const disabled = await loadLanKeyring(settings(dir, K1, true), recordingLogger().logger);
    assert.deepEqual(disabled.keyring?.keys(), [K1]);
    assert.equal(disabled.file, undefined);
    assert.equal(await readFile(join(dir, "serf", "local.keyring"), "utf8").catch(() => "absent"), "absent");
    const none = await loadLanKeyring(settings(dir, ""), recordingLogger().logger);
    assert.equal(none.keyring, undefined);
  }));

test("a keyring file holding a bad key stops start-up", () =>
  withDataDir(async (dir) => {
    await mkdir(join(dir, "serf"));
    await writeFile(join(dir, "serf", "local.keyring"), JSON.stringify(["c2hvcnQ="]));
    await assert.rejects(loadLanKeyring(settings(dir, ""), recordingLogger().logger), /Failed to configure keyring/);
  }));

test("install, use and remove follow memberlist's rules and save the file after each change", async () => {
  const saved: string[][] = [];
  const local = new LocalKeyring({ keyring: new Keyring([K1]), file: "/data/serf/local.keyring" }, (_path, keys) => {
    saved.push([...keys]);
    return Promise.resolve();
  });
  assert.deepEqual(await local.handle("install", K2), { Result: true, Message: "", Keys: [], PrimaryKey: "" });
  assert.deepEqual(await local.handle("list", ""), { Result: true, Message: "", Keys: [K1, K2], PrimaryKey: K1 });
  assert.equal((await local.handle("install", "c2hvcnQ=")).Message, "key size must be 16, 24 or 32 bytes");
  assert.equal((await local.handle("use", K3)).Message, "Requested key is not in the keyring");
  assert.equal((await local.handle("remove", K1)).Message, "Removing the primary key is not allowed");
  assert.equal((await local.handle("use", K2)).Result, true);
  assert.equal((await local.handle("remove", K1)).Result, true);
  // Removing a key that is not installed succeeds and changes nothing, as in memberlist.
  assert.equal((await local.handle("remove", K3)).Result, true);
  assert.deepEqual(saved, [[K1, K2], [K2, K1], [K2]]);
  assert.deepEqual(local.keyring?.keys(), [K2]);
});

test("a failed save and a node without encryption answer with serf's messages", async () => {
  const failing = new LocalKeyring({ keyring: new Keyring([K1]), file: "/x" }, () => Promise.reject(new Error("disk full")));
  assert.deepEqual(await failing.handle("install", K2), { Result: false, Message: "Failed to write keyring file: disk full", Keys: [], PrimaryKey: "" });
  const plain = new LocalKeyring({ keyring: undefined, file: undefined });
  assert.equal((await plain.handle("list", "")).Message, "Keyring is empty (encryption not enabled)");
  assert.equal((await plain.handle("install", K1)).Message, "No keyring to modify (encryption not enabled)");
});

test("answers sum up as serf's KeyResponse: failures first, then missing answers", () => {
  const ok = (keys: string[], primary: string): NodeKeyResponse => ({ Result: true, Message: "", Keys: keys, PrimaryKey: primary });
  const all = summarizeKeyAnswers(new Map([["a", ok([K1, K2], K1)], ["b", ok([K2], K2)]]), 2);
  assert.deepEqual(all, { Messages: {}, Keys: { [K1]: 1, [K2]: 2 }, PrimaryKeys: { [K1]: 1, [K2]: 1 }, NumNodes: 2, Error: "" });
  const silent = summarizeKeyAnswers(new Map([["a", ok([], "")], ["b", undefined]]), 2);
  assert.equal(silent.Error, "1/2 nodes reported success");
  const failed = summarizeKeyAnswers(new Map([["a", { Result: false, Message: "Removing the primary key is not allowed", Keys: [], PrimaryKey: "" }], ["b", undefined]]), 2);
  assert.equal(failed.Error, "1/2 nodes reported failure");
  assert.deepEqual(failed.Messages, { a: "Removing the primary key is not allowed" });
});

test("key requests and answers round-trip; foreign bytes decode to nothing", () => {
  assert.deepEqual(decodeKeyRequest(encodeKeyRequest("use", K1)), { Op: "use", Key: K1 });
  const answer: NodeKeyResponse = { Result: true, Message: "", Keys: [K1], PrimaryKey: K1 };
  assert.deepEqual(decodeKeyResponse(encodeKeyResponse(answer)), answer);
  assert.equal(decodeKeyRequest(Uint8Array.of(1, 2, 3)), undefined);
  assert.equal(decodeKeyResponse(encodeKeyRequest("list", "")), undefined);
});

test("keys are checked as Go's base64 decoder does before any member is asked", () => {
  assert.equal(base64Problem(K1), undefined);
  assert.equal(base64Problem(""), undefined);
  assert.equal(base64Problem("abc!"), "illegal base64 data at input byte 3");
  assert.equal(base64Problem("abcde"), "illegal base64 data at input byte 4");
  assert.equal(base64Problem("ab=c"), "illegal base64 data at input byte 2");
});

test("pool errors read as Consul's multierror, and pools list as consul keyring prints them", () => {
  const pool = { WAN: false, Datacenter: "dc1", Segment: "", Messages: { s1: "Removing the primary key is not allowed" }, Keys: {}, PrimaryKeys: {}, NumNodes: 2, Error: "1/2 nodes reported failure" };
  assert.equal(keyringErrorText([pool]), "2 errors occurred:\n\t* dc1 (LAN) error: 1/2 nodes reported failure\n\t* s1: Removing the primary key is not allowed\n\n");
  assert.equal(keyringErrorText([{ ...pool, Messages: {}, Error: "" }]), undefined);
  assert.equal(formatKeyringPool({ WAN: true, Datacenter: "dc1", Segment: "", NumNodes: 3 }, { [K1]: 3 }), `\nWAN:\n  ${K1} [3/3]`);
  assert.equal(formatKeyringPool({ WAN: false, Datacenter: "dc1", Segment: "", NumNodes: 2, Messages: { c1: "boom" } }, { [K2]: 1 }), `\ndc1 (LAN):\n  ===> c1: boom\n  ${K2} [1/2]`);
});
