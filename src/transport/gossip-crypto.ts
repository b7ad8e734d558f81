import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

// Gossip encryption (memberlist security.go, version 1): AES-GCM over every datagram and
// stream frame, laid out as [version u8][nonce 12][ciphertext][tag 16]. The keyring encrypts
// with the primary key and tries every installed key on decrypt, so keys can be rotated:
// install the new key everywhere, make it primary everywhere, then remove the old one.

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes encryption adds to each packet; the core subtracts it from the UDP budget. */
export const ENCRYPTION_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

const CIPHER_BY_KEY_BYTES: Readonly<Record<number, "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm">> = {
  16: "aes-128-gcm",
  24: "aes-192-gcm",
  32: "aes-256-gcm",
};

export class GossipKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GossipKeyError";
  }
}

export class GossipDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GossipDecryptError";
  }
}

/** A new random 32-byte key in base64, as `consul keygen` prints it. */
export function keygen(): string {
  return randomBytes(32).toString("base64");
}

export function decodeKey(base64: string): Buffer {
  const key = Buffer.from(base64, "base64");
  if (key.toString("base64") !== base64.trim() || !CIPHER_BY_KEY_BYTES[key.length]) {
    throw new GossipKeyError(`gossip key must be 16, 24 or 32 bytes of base64, got ${key.length} bytes`);
  }
  return key;
}

export class Keyring {
  #keys: Buffer[];

  /** Keys in base64; the first is the primary (used to encrypt). */
  constructor(keysBase64: readonly string[]) {
    if (keysBase64.length === 0) throw new GossipKeyError("keyring needs at least one key");
    this.#keys = keysBase64.map(decodeKey);
  }

  get primaryKey(): string {
    return this.#keys[0].toString("base64");
  }

  keys(): string[] {
    return this.#keys.map((k) => k.toString("base64"));
  }

  addKey(base64: string): void {
    const key = decodeKey(base64);
    if (!this.#keys.some((k) => k.equals(key))) this.#keys.push(key);
  }

  useKey(base64: string): void {
    const key = decodeKey(base64);
    const rest = this.#keys.filter((k) => !k.equals(key));
    if (rest.length === this.#keys.length) throw new GossipKeyError("Requested key is not in the keyring");
    this.#keys = [key, ...rest];
  }

  removeKey(base64: string): void {
    const key = decodeKey(base64);
    if (this.#keys[0].equals(key)) throw new GossipKeyError("Removing the primary key is not allowed");
    this.#keys = this.#keys.filter((k) => !k.equals(key));
  }

  encrypt(plain: Uint8Array, label: Uint8Array = EMPTY): Uint8Array {
    const key = this.#keys[0];
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER_BY_KEY_BYTES[key.length], key, nonce);
    cipher.setAAD(label);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]);
  }

  /** Tries every key; throws GossipDecryptError when none authenticates the message. */
  decrypt(data: Uint8Array, label: Uint8Array = EMPTY): Uint8Array {
    if (data.length < ENCRYPTION_OVERHEAD_BYTES) throw new GossipDecryptError("encrypted message too short");
    if (data[0] !== VERSION) throw new GossipDecryptError(`unsupported encryption version ${data[0]}`);
    const nonce = data.subarray(1, 1 + NONCE_BYTES);
    const body = data.subarray(1 + NONCE_BYTES, data.length - TAG_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv(CIPHER_BY_KEY_BYTES[key.length], key, nonce);
        decipher.setAAD(label);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Wrong key: try the next one.
      }
    }
    throw new GossipDecryptError("no installed key decrypts the message");
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Consul's encrypt_verify_incoming / encrypt_verify_outgoing (memberlist's GossipVerifyIncoming
 * and GossipVerifyOutgoing), for turning encryption on in a running cluster without a
 * partition: first every agent gets the key with both off (it sends plaintext and accepts
 * both), then outgoing on everywhere (it sends encrypted, still accepts plaintext from agents
 * not yet restarted), then incoming on everywhere (plaintext is refused).
 */
export interface GossipVerify {
  /** false: a message no installed key authenticates is taken as plaintext. */
  readonly incoming: boolean;
  /** false: messages go out unencrypted although a key is installed. */
  readonly outgoing: boolean;
}

export const VERIFY_BOTH: GossipVerify = { incoming: true, outgoing: true };

/** What the gossip sockets apply to every datagram and stream frame: the keyring under a verify mode. */
export class GossipEncryption {
  readonly keyring: Keyring;
  readonly verify: GossipVerify;

  constructor(keyring: Keyring, verify: GossipVerify = VERIFY_BOTH) {
    this.keyring = keyring;
    this.verify = verify;
  }

  seal(plain: Uint8Array): Uint8Array {
    return this.verify.outgoing ? this.keyring.encrypt(plain) : plain;
  }

  /**
   * The plaintext of an incoming message. Without verify_incoming a message that no key
   * decrypts passes as it came, as memberlist does; one sealed with an unknown key then fails
   * to decode above and is dropped like any malformed message.
   */
  open(data: Uint8Array): Uint8Array {
    try {
      return this.keyring.decrypt(data);
    } catch (err) {
      if (!this.verify.incoming) return data;
      throw err;
    }
  }
}
