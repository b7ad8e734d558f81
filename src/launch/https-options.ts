// The HTTPS listener's node:https options from the checked certificate material
// (config/tls.ts): client certificates are requested and required only with
// tls.https.verify_incoming, as Consul's tlsutil does for the HTTPS port.
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { TlsMaterial } from "../config/tls.ts";

export function httpsServerOptions(material: TlsMaterial, handshakeTimeoutMs: number): HttpsServerOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca.length > 0 ? material.ca : undefined,
    requestCert: material.verifyIncoming,
    rejectUnauthorized: material.verifyIncoming,
    minVersion: material.minVersion,
    ...(material.ciphers !== undefined ? { ciphers: material.ciphers } : {}),
    ...(handshakeTimeoutMs > 0 ? { handshakeTimeout: handshakeTimeoutMs } : {}),
  };
}
