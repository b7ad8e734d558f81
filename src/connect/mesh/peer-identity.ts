// Reads the SPIFFE URI SAN of a peer's certificate. Parsing with @peculiar/x509 costs about a
// millisecond, too much per handshake at thousands of connections a second, while a peer
// presents the same leaf for days: so results are cached by the certificate's SHA-256
// fingerprint (computed natively by node:tls) in a small bounded map.
import { x509 } from "../x509.ts";
import { parseServiceUri, type ServiceIdentity } from "../spiffe.ts";

/** URI SANs of a DER certificate, in order. */
export function uriSans(der: Uint8Array): string[] {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];
  return san.names.items.filter((n) => n.type === "url").map((n) => n.value);
}

export interface PeerIdentity {
  /** The certificate's first URI SAN ("" when it has none). */
  uri: string;
  /** The parsed service identity; undefined when the URI is not a service SPIFFE ID. */
  service: ServiceIdentity | undefined;
}

const CACHE_LIMIT = 4096;

export class PeerIdentityCache {
  readonly #entries = new Map<string, PeerIdentity>();

  /** `fingerprint` identifies `der` (X509Certificate.fingerprint256 or PeerCertificate.fingerprint256). */
  identify(fingerprint: string, der: Uint8Array): PeerIdentity {
    const hit = this.#entries.get(fingerprint);
    if (hit) return hit;
    let uri = "";
    try {
      uri = uriSans(der)[0] ?? "";
    } catch {
      uri = "";
    }
    const identity: PeerIdentity = { uri, service: uri === "" ? undefined : parseServiceUri(uri) };
    if (this.#entries.size >= CACHE_LIMIT) {
      // Evict the oldest insertion: leaves rotate, so old fingerprints age out.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(fingerprint, identity);
    return identity;
  }
}

/** Consul's serial format: lowercase colon-separated hex bytes ("0a:1f"). */
export function consulSerial(hexSerial: string): string {
  let hex = hexSerial.replace(/[^0-9a-f]/gi, "").toLowerCase();
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return hex.match(/../g)?.join(":") ?? "";
}
