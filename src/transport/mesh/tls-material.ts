// One generation of a service's TLS material (leaf + the trusted roots) as node:tls wants it.
// Every rotation makes a new generation; a connection keeps the context it was made with, so
// rotating never touches open connections.
import tls from "node:tls";

export interface MeshTlsMaterial {
  /** Increases with every leaf or roots change. */
  generation: number;
  keyPem: string;
  /** The leaf followed by any intermediates. */
  certPem: string;
  /** Every trusted root and intermediate (PEM). */
  caPems: string[];
}

export interface MeshTlsContext extends MeshTlsMaterial {
  secureContext: tls.SecureContext;
}

/** The options every mesh TLS endpoint shares: TLS 1.2+, certificate material of one generation. */
export function secureContextOptions(m: MeshTlsMaterial): tls.SecureContextOptions {
  return { key: m.keyPem, cert: m.certPem, ca: m.caPems, minVersion: "TLSv1.2" };
}

export function buildTlsContext(m: MeshTlsMaterial): MeshTlsContext {
  return { ...m, secureContext: tls.createSecureContext(secureContextOptions(m)) };
}
