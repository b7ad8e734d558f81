import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeKey, ENCRYPTION_OVERHEAD_BYTES, GossipDecryptError, GossipKeyError, Keyring, keygen } from "../../../src/transport/gossip-crypto.ts";

test("keygen - produces a base64 32-byte key", () => {
  const key = keygen();
  assert.equal(Buffer.from(key, "base64").length, 32);
  assert.notEqual(keygen(), key);
  assert.equal(decodeKey(key).length, 32);
});

test("keyring - encrypts with the primary key and adds a fixed overhead", () => {
  const ring = new Keyring([keygen()]);
  const plain = new TextEncoder().encode("ping");
  const sealed = ring.encrypt(plain);
  assert.equal(sealed.length, plain.length + ENCRYPTION_OVERHEAD_BYTES);
  assert.deepEqual([...ring.decrypt(sealed)], [...plain]);
});

test("keyring - decrypts with any installed key, so keys rotate without downtime", () => {
  const oldKey = keygen();
  const newKey = keygen();
  const oldOnly = new Keyring([oldKey]);
  const rotating = new Keyring([oldKey]);
  rotating.addKey(newKey);
  rotating.useKey(newKey);
  assert.equal(rotating.primaryKey, newKey);
  const fromOld = oldOnly.encrypt(new Uint8Array([1]));
  assert.deepEqual([...rotating.decrypt(fromOld)], [1]);
  assert.throws(() => oldOnly.decrypt(rotating.encrypt(new Uint8Array([2]))), GossipDecryptError);
  assert.throws(() => rotating.removeKey(newKey), GossipKeyError, "the primary cannot be removed");
  rotating.removeKey(oldKey);
  assert.deepEqual(rotating.keys(), [newKey]);
});

test("keyring - tampering and bad keys are rejected", () => {
  const ring = new Keyring([keygen()]);
  const sealed = ring.encrypt(new Uint8Array([1, 2, 3]));
  sealed[sealed.length - 1] ^= 1;
  assert.throws(() => ring.decrypt(sealed), GossipDecryptError);
  assert.throws(() => new Keyring(["c2hvcnQ="]), GossipKeyError);
  assert.throws(() => new Keyring([]), GossipKeyError);
});
