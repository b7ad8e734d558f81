import { formatGoDuration, parseGoDuration } from "../model/duration.ts";

// The built-in ("consul") provider's configuration (Consul's ConsulCAProviderConfig and
// CommonCAProviderConfig): defaults, key normalisation (API CamelCase and agent snake_case
// name the same key) and validation. The raw map is what GET /v1/connect/ca/configuration
// shows back; the parsed values are what the CA honours.

export type PrivateKeyType = "ec" | "rsa";

export interface ConsulCaSettings {
  leafCertTtlMs: number;
  intermediateCertTtlMs: number;
  rootCertTtlMs: number;
  /** Accepted and shown back as Consul does; the built-in provider never rotates on a timer (neither does Consul's). */
  rotationPeriodMs: number;
  privateKeyType: PrivateKeyType;
  privateKeyBits: number;
  /** A PEM private key the operator supplies instead of a generated one. */
  privateKey: string;
  /** A PEM root certificate the operator supplies (needs privateKey). */
  rootCert: string;
  csrMaxPerSecond: number;
  csrMaxConcurrent: number;
}

export class CaConfigError extends Error {}

/** Canonical API spelling of every key the built-in provider takes. */
const KEYS: Record<string, string> = {
  leafcertttl: "LeafCertTTL",
  intermediatecertttl: "IntermediateCertTTL",
  rootcertttl: "RootCertTTL",
  rotationperiod: "RotationPeriod",
  privatekeytype: "PrivateKeyType",
  privatekeybits: "PrivateKeyBits",
  privatekey: "PrivateKey",
  rootcert: "RootCert",
  csrmaxpersecond: "CSRMaxPerSecond",
  csrmaxconcurrent: "CSRMaxConcurrent",
};

/** The defaults Consul writes when it initialises the CA (what GET shows on a fresh cluster). */
export function defaultRawConfig(): Record<string, unknown> {
  return {
    LeafCertTTL: "72h",
    IntermediateCertTTL: "8760h",
    RootCertTTL: "87600h",
    RotationPeriod: "2160h",
    PrivateKeyType: "ec",
    PrivateKeyBits: 256,
  };
}

/** Maps `leaf_cert_ttl`, `LeafCertTTL`, `leafcertttl`… to the API spelling; unknown keys are refused. */
export function normalizeRawConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const canonical = KEYS[k.replaceAll("_", "").toLowerCase()];
    if (!canonical) throw new CaConfigError(`unknown CA config key ${JSON.stringify(k)} for provider "consul"`);
    out[canonical] = v;
  }
  return out;
}

function duration(raw: Record<string, unknown>, key: string): number {
  const v = raw[key];
  if (typeof v === "number") return v / 1e6;
  if (typeof v !== "string") throw new CaConfigError(`${key}: expected a duration string, got ${JSON.stringify(v)}`);
  try {
    return parseGoDuration(v);
  } catch (err) {
    throw new CaConfigError(`${key}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function integer(raw: Record<string, unknown>, key: string): number {
  const v = raw[key];
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new CaConfigError(`${key}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Parses and validates a normalized raw config over the defaults. Throws CaConfigError with Consul's wording where it has one. */
export function parseCaConfig(rawIn: Record<string, unknown>): ConsulCaSettings {
  const raw = { ...defaultRawConfig(), ...normalizeRawConfig(rawIn) };
  const type = typeof raw.PrivateKeyType === "string" ? raw.PrivateKeyType.toLowerCase() : raw.PrivateKeyType;
  if (type !== "ec" && type !== "rsa") throw new CaConfigError("private key type must be either 'ec' or 'rsa'");
  // Without an explicit size an RSA key is 4096 bits (Consul's DefaultPrivateKeyBitsRSA).
  const bitsGiven = rawIn.PrivateKeyBits !== undefined || rawIn.private_key_bits !== undefined || rawIn.privatekeybits !== undefined;
  const bits = type === "rsa" && !bitsGiven ? 4096 : integer(raw, "PrivateKeyBits");
  const settings: ConsulCaSettings = {
    leafCertTtlMs: duration(raw, "LeafCertTTL"),
    intermediateCertTtlMs: duration(raw, "IntermediateCertTTL"),
    rootCertTtlMs: duration(raw, "RootCertTTL"),
    rotationPeriodMs: duration(raw, "RotationPeriod"),
    privateKeyType: type,
    privateKeyBits: bits,
    privateKey: typeof raw.PrivateKey === "string" ? raw.PrivateKey : "",
    rootCert: typeof raw.RootCert === "string" ? raw.RootCert : "",
    csrMaxPerSecond: raw.CSRMaxPerSecond === undefined ? 50 : Number(raw.CSRMaxPerSecond),
    csrMaxConcurrent: raw.CSRMaxConcurrent === undefined ? 0 : integer(raw, "CSRMaxConcurrent"),
  };
  if (!Number.isFinite(settings.csrMaxPerSecond) || settings.csrMaxPerSecond < 0) throw new CaConfigError("CSRMaxPerSecond: expected a non-negative number");
  validate(settings);
  return settings;
}

const HOUR = 3_600_000;

function validate(s: ConsulCaSettings): void {
  if (s.leafCertTtlMs < HOUR) throw new CaConfigError(`leaf cert TTL must be greater or equal than ${formatGoDuration(HOUR)}`);
  if (s.leafCertTtlMs > 8760 * HOUR) throw new CaConfigError(`leaf cert TTL must be less than ${formatGoDuration(8760 * HOUR)}`);
  if (s.intermediateCertTtlMs < 3 * s.leafCertTtlMs) {
    throw new CaConfigError(`Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=${formatGoDuration(3 * s.leafCertTtlMs)}).`);
  }
  if (s.rootCertTtlMs <= s.intermediateCertTtlMs) throw new CaConfigError("root cert TTL is set and is not greater than intermediate cert ttl");
  if (s.privateKeyType === "ec") {
    // WebCrypto (the only signer we use) has no P-224; Consul would take 224.
    if (s.privateKeyBits === 224) throw new CaConfigError("EC key length 224 is not supported by this CA; use 256, 384 or 521");
    if (![256, 384, 521].includes(s.privateKeyBits)) throw new CaConfigError(`EC key length must be one of (224, 256, 384, 521) bits`);
  } else {
    if (s.privateKeyBits < 2048) throw new CaConfigError("RSA key length must be at least 2048 bits");
    if (s.privateKeyBits !== 2048 && s.privateKeyBits !== 4096) throw new CaConfigError("RSA key length must be 2048 or 4096 bits");
  }
  if ((s.rootCert === "") !== (s.privateKey === "")) throw new CaConfigError("must provide both a root certificate and a private key, or neither");
}
