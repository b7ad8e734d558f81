// Internal RPC TLS from the resolved config: what the server port accepts (RPCTLS, required
// with verify_incoming) and how this agent dials servers (TLS with verify_outgoing, checking
// server.<datacenter>.<domain> with verify_server_hostname).
import type { RuntimeConfig } from "../config/runtime-config.ts";
import { ServerPortTls, type ServerPortTlsSettings } from "../transport/server-port-tls.ts";

export function serverPortTlsSettings(rc: RuntimeConfig): ServerPortTlsSettings | undefined {
  const m = rc.internalRpcTls;
  const t = rc.tls.internalRpc;
  // auto_encrypt.tls: outgoing RPC is always TLS (first without, then with the issued certificate).
  const verifyOutgoing = t.verifyOutgoing || rc.autoEncrypt.tls;
  if (m === undefined || (m.cert === undefined && !verifyOutgoing)) return undefined;
  const domain = rc.domain.replace(/\.$/, "");
  return {
    material: { ca: m.ca, cert: m.cert, key: m.key, minVersion: m.minVersion, ciphers: m.ciphers },
    verifyIncoming: t.verifyIncoming,
    verifyOutgoing,
    serverName: t.verifyServerHostname ? `server.${rc.datacenter}.${domain}` : undefined,
  };
}

export function serverPortTlsFromConfig(rc: RuntimeConfig | undefined): ServerPortTls | undefined {
  const settings = rc === undefined ? undefined : serverPortTlsSettings(rc);
  return settings === undefined ? undefined : new ServerPortTls(settings);
}
