import { createHash, createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb, webcrypto, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { PrivateKeyType } from "./ca-config.ts";

// Key material for the CA and for leaves, through node:crypto (generation, PEM) and WebCrypto
// (what @peculiar/x509 signs with). Private keys are kept as Consul keeps them: an EC key as
// "EC PRIVATE KEY" (SEC 1) PEM, an RSA key as "RSA PRIVATE KEY" (PKCS #1) PEM.

const generateKeyPair = promisify(generateKeyPairCb);

export interface SigningKey {
  /** The PEM as stored (secret). */
  pem: string;
  type: PrivateKeyType;
  bits: number;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  /** Signature algorithm for certificates this key signs. */
  algorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
  /** SHA-256 of the public key's DER SubjectPublicKeyInfo: Consul's key ID (SKI/AKI, SigningKeyID). */
  keyId: Buffer;
}

const CURVES: Record<number, string> = { 256: "P-256", 384: "P-384", 521: "P-521" };
const EC_HASH: Record<number, string> = { 256: "SHA-256", 384: "SHA-384", 521: "SHA-512" };

/** Generates a new private key as PEM (async: RSA 4096 takes a while and must not hold the event loop). */
export async function generatePrivateKeyPem(type: PrivateKeyType, bits: number): Promise<string> {
  if (type === "ec") {
    const curve = CURVES[bits];
    if (!curve) throw new Error(`unsupported EC key length ${bits}`);
    const { privateKey } = await generateKeyPair("ec", { namedCurve: curve });
    return privateKey.export({ type: "sec1", format: "pem" }).toString();
  }
  const { privateKey } = await generateKeyPair("rsa", { modulusLength: bits });
  return privateKey.export({ type: "pkcs1", format: "pem" }).toString();
}

export function keyIdOf(publicKey: KeyObject): Buffer {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest();
}

const imported = new Map<string, Promise<SigningKey>>();

/** Imports a PEM private key for signing (cached: the CA key is imported once, not per leaf). */
export function importSigningKey(pem: string): Promise<SigningKey> {
  let p = imported.get(pem);
  if (!p) {
    p = importUncached(pem);
    p.catch(() => imported.delete(pem));
    // Few keys ever exist (one per root); still bound the cache.
    if (imported.size > 64) imported.clear();
    imported.set(pem, p);
  }
  return p;
}

/** Imports a PEM private key without caching it (a leaf's key, used once). */
export async function importUncached(pem: string): Promise<SigningKey> {
  const key = createPrivateKey(pem);
  const pub = createPublicKey(key);
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  const spki = pub.export({ type: "spki", format: "der" });
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const bits = curve === "prime256v1" ? 256 : curve === "secp384r1" ? 384 : curve === "secp521r1" ? 521 : 0;
    if (bits === 0) throw new Error(`unsupported EC curve ${String(curve)}`);
    const params = { name: "ECDSA", namedCurve: CURVES[bits] };
    return {
      pem,
      type: "ec",
      bits,
      privateKey: await webcrypto.subtle.importKey("pkcs8", pkcs8, params, true, ["sign"]),
      publicKey: await webcrypto.subtle.importKey("spki", spki, params, true, ["verify"]),
      algorithm: { name: "ECDSA", hash: EC_HASH[bits] },
      keyId: keyIdOf(pub),
    };
  }
  if (key.asymmetricKeyType === "rsa") {
    const params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    return {
      pem,
      type: "rsa",
      bits: key.asymmetricKeyDetails?.modulusLength ?? 0,
      privateKey: await webcrypto.subtle.importKey("pkcs8", pkcs8, params, true, ["sign"]),
      publicKey: await webcrypto.subtle.importKey("spki", spki, params, true, ["verify"]),
      algorithm: params,
      keyId: keyIdOf(pub),
    };
  }
  throw new Error(`unknown PEM block type for signing key: ${String(key.asymmetricKeyType)}`);
}
