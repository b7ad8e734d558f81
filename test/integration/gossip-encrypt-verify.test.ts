// encrypt_verify_incoming / encrypt_verify_outgoing over real UDP and TCP gossip sockets: the
// three steps of turning gossip encryption on in a running cluster (Consul's rolling roll-out).
//   both off:        a keyed member sends plaintext and accepts plaintext (joins unkeyed ones)
//   outgoing on:     sends encrypted, still accepts plaintext from members not yet switched
//   both on:         plaintext is refused
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { gossipConfig } from "../../src/gossip/config.ts";
import { MemberStatus } from "../../src/gossip/member-state.ts";
import { GossipEncryption, Keyring, keygen, type GossipVerify } from "../../src/transport/gossip-crypto.ts";
import { GossipRunner } from "../../src/transport/gossip-runner.ts";
import { eventually } from "../support/eventually.ts";

const config = gossipConfig({
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  suspicionMult: 2,
  pushPullIntervalMs: 1_000,
  tcpTimeoutMs: 1_000,
  gossipToTheDeadMs: 5_000,
  leaveBroadcastTimeoutMs: 500,
});
const key = keygen();
const runners: GossipRunner[] = [];

after(async () => {
  await Promise.all(runners.map((r) => r.shutdown()));
});

async function member(name: string, verify?: GossipVerify): Promise<GossipRunner> {
  const keyed = verify === undefined ? {} : { keyring: new Keyring([key]), gossipVerify: verify };
  const runner = await GossipRunner.start({ name, bindHost: "127.0.0.1", port: 0, config, tags: { role: "node", dc: "dc1" }, ...keyed });
  runners.push(runner);
  return runner;
}

function aliveNames(r: GossipRunner): string[] {
  return r
    .members()
    .filter((m) => m.status === MemberStatus.alive)
    .map((m) => m.name)
    .sort();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("encrypt verify both off: a keyed member and a plaintext one join and keep probing each other", { timeout: 20_000 }, async () => {
  const plain = await member("off-plain");
  const keyed = await member("off-keyed", { incoming: false, outgoing: false });
  assert.equal(await keyed.join([plain.addr]), 1);
  await eventually("both alive in both views", async () => aliveNames(plain).length === 2 && aliveNames(keyed).length === 2, 10_000);
  // Several probe rounds (UDP) and a push-pull (TCP) later nobody is suspected.
  await sleep(1_500);
  assert.deepEqual(aliveNames(plain), ["off-keyed", "off-plain"]);
  assert.deepEqual(aliveNames(keyed), ["off-keyed", "off-plain"]);
});

test("encrypt verify outgoing on, incoming off: sends encrypted, still accepts plaintext", { timeout: 20_000 }, async () => {
  const switched = await member("out-switched", { incoming: false, outgoing: true });
  // A member not yet switched (sends plaintext, has the key) joins it both ways round.
  const pending = await member("out-pending", { incoming: false, outgoing: false });
  assert.equal(await pending.join([switched.addr]), 1, "plaintext accepted, encrypted answer read with the key");
  await eventually("both alive in both views", async () => aliveNames(switched).length === 2 && aliveNames(pending).length === 2, 10_000);
  await sleep(1_500);
  assert.deepEqual(aliveNames(switched), ["out-pending", "out-switched"]);
  assert.deepEqual(aliveNames(pending), ["out-pending", "out-switched"]);
  // What it sends is encrypted: a member without the key cannot read its answer to a join.
  const keyless = await member("out-keyless");
  assert.equal(await keyless.join([switched.addr]), 0);
  assert.deepEqual(aliveNames(keyless), ["out-keyless"]);
});

test("encrypt verify both on: plaintext is refused, encrypted members converge", { timeout: 20_000 }, async () => {
  const strict = await member("on-strict", { incoming: true, outgoing: true });
  const plaintextSender = await member("on-plaintext-sender", { incoming: false, outgoing: false });
  assert.equal(await plaintextSender.join([strict.addr]), 0, "a plaintext push-pull is refused");
  const switched = await member("on-switched", { incoming: false, outgoing: true });
  assert.equal(await switched.join([strict.addr]), 1);
  await eventually("strict and switched alive in both views", async () => aliveNames(strict).length === 2 && aliveNames(switched).length === 2, 10_000);
  await sleep(1_000);
  assert.deepEqual(aliveNames(strict), ["on-strict", "on-switched"]);
  assert.ok(!strict.members().some((m) => m.name === "on-plaintext-sender"), "the plaintext sender never got in");
});

test("GossipEncryption: seal and open under each verify mode", () => {
  const keyring = new Keyring([key]);
  const plain = new TextEncoder().encode("hello");
  const strict = new GossipEncryption(keyring);
  const lenient = new GossipEncryption(keyring, { incoming: false, outgoing: false });
  assert.notDeepEqual(Buffer.from(strict.seal(plain)), Buffer.from(plain));
  assert.deepEqual(Buffer.from(lenient.seal(plain)), Buffer.from(plain));
  assert.deepEqual(Buffer.from(lenient.open(strict.seal(plain))), Buffer.from(plain), "encrypted input is still decrypted");
  assert.deepEqual(Buffer.from(lenient.open(plain)), Buffer.from(plain));
  assert.throws(() => strict.open(plain), /too short|no installed key|unsupported encryption version/);
});
