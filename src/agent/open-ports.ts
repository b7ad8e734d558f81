// Which of the configured client-facing ports an agent really listens on. Consul prints and
// reports a disabled listener as -1; a port this build has no listener for is disabled in
// that sense whatever the configuration says, so nothing (banner, /v1/agent/self, gossip
// tags) advertises a port where nothing answers.
//
// This build runs no gRPC server (so no xDS and no gRPC-TLS): when it lands, flip its flag
// here and every report follows. HTTPS listens whenever ports.https > 0 (config loading refuses
// that port without a certificate).

export const LISTENERS = {
  https: true,
  grpc: false,
  grpcTls: false,
} as const;

export interface ClientPorts {
  http: number;
  https: number;
  grpc: number;
  grpcTls: number;
  dns: number;
}

const openOrDisabled = (port: number, served: boolean): number => (served && port > 0 ? port : -1);

/** The configured client ports with -1 for every listener that is not open. */
export function openClientPorts(ports: ClientPorts): ClientPorts {
  return {
    http: openOrDisabled(ports.http, true),
    https: openOrDisabled(ports.https, LISTENERS.https),
    grpc: openOrDisabled(ports.grpc, LISTENERS.grpc),
    grpcTls: openOrDisabled(ports.grpcTls, LISTENERS.grpcTls),
    dns: openOrDisabled(ports.dns, true),
  };
}

/** True when an xDS (gRPC) server runs, the condition for /v1/agent/self's `xDS` section. */
export function xdsServerRuns(ports: ClientPorts): boolean {
  const open = openClientPorts(ports);
  return open.grpc > 0 || open.grpcTls > 0;
}
