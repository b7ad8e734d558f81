// Real server and client agent processes for the TLS cluster tests (rpc-tls-cluster,
// auto-encrypt): TLS stanzas from certificate files, fast joins and elections, and client
// agents that join one server over LAN gossip and reach it on its server port.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, spawnAgent, type AgentProcess } from "./agent-process.ts";
import { serverArgs, type ServerSpec } from "./server-cluster.ts";

/** Fast elections and joins: agents start at once, so early join attempts may miss. */
export const FAST_JOIN_HCL = 'retry_interval = "300ms"\nperformance {\n  raft_multiplier = 1\n  rpc_hold_timeout = "1s"\n}';

export interface TlsStanza {
  ca: string;
  cert?: string;
  key?: string;
  /** tls.defaults */
  defaults?: { verifyIncoming?: boolean; verifyOutgoing?: boolean };
  /** tls.internal_rpc */
  internalRpc?: { verifyIncoming?: boolean; verifyOutgoing?: boolean; verifyServerHostname?: boolean };
  /** tls.https */
  https?: { verifyIncoming?: boolean };
}

function settings(values: Record<string, string | boolean | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `    ${k} = ${typeof v === "string" ? JSON.stringify(v) : String(v)}\n`)
    .join("");
}

/** The `tls { defaults {…} internal_rpc {…} https {…} }` stanza. */
export function tlsHcl(t: TlsStanza): string {
  const defaults = settings({ ca_file: t.ca, cert_file: t.cert, key_file: t.key, verify_incoming: t.defaults?.verifyIncoming, verify_outgoing: t.defaults?.verifyOutgoing });
  const rpc = t.internalRpc
    ? `  internal_rpc {\n${settings({ verify_incoming: t.internalRpc.verifyIncoming, verify_outgoing: t.internalRpc.verifyOutgoing, verify_server_hostname: t.internalRpc.verifyServerHostname })}  }\n`
    : "";
  const https = t.https ? `  https {\n${settings({ verify_incoming: t.https.verifyIncoming })}  }\n` : "";
  return `tls {\n  defaults {\n${defaults}  }\n${rpc}${https}}\n`;
}

/** Writes `<dir>/<name>.hcl` and returns its path. */
export function writeConfig(dir: string, name: string, hcl: string): string {
  const path = join(dir, `${name}.hcl`);
  writeFileSync(path, hcl);
  return path;
}

/** A server with this config file, joining `joins`; ready once it knows a leader. */
export async function startServer(spec: ServerSpec, expect: number, joins: readonly ServerSpec[], configFile: string, procs: AgentProcess[]): Promise<AgentProcess> {
  const proc = await spawnAgent([...serverArgs(spec, expect, joins), `-config-file=${configFile}`, `-hcl=${FAST_JOIN_HCL}`], {
    httpPort: spec.httpPort,
    timeoutMs: 20_000,
    ready: async (base) => (await (await fetch(`${base}/v1/status/leader`)).json()) !== "",
  });
  procs.push(proc);
  return proc;
}

export interface ClientAgent {
  proc: AgentProcess;
  base: string;
  httpsPort?: number;
}

export interface ClientAgentOptions {
  name: string;
  bind: string;
  /** The server it joins (LAN gossip); its server port is the client's too (auto_encrypt dials join hosts there). */
  join: ServerSpec;
  configFile: string;
  /** "registered": ready once a server has its node (RPC works); "serving": once its own API answers. */
  ready: "registered" | "serving";
  https?: boolean;
  /** The test's temporary directory: the data dir goes under it. */
  dir: string;
  procs: AgentProcess[];
}

export async function startClientAgent(o: ClientAgentOptions): Promise<ClientAgent> {
  const httpPort = await freePort();
  const httpsPort = o.https ? await freePort() : undefined;
  const args = [
    `-node=${o.name}`,
    `-data-dir=${mkdtempSync(join(o.dir, `data-${o.name}-`))}`,
    `-bind=${o.bind}`,
    "-client=127.0.0.1",
    `-http-port=${httpPort}`,
    ...(httpsPort !== undefined ? [`-https-port=${httpsPort}`] : []),
    "-dns-port=-1",
    `-serf-lan-port=${await freePort()}`,
    `-server-port=${o.join.serverPort}`,
    `-retry-join=${o.join.bind}:${o.join.serfPort}`,
    `-config-file=${o.configFile}`,
    `-hcl=${FAST_JOIN_HCL}`,
  ];
  const proc = await spawnAgent(args, {
    httpPort,
    timeoutMs: 30_000,
    ready:
      o.ready === "registered"
        ? async (base) => (await (await fetch(`${base}/v1/catalog/node/${o.name}`)).json()) !== null
        : async (base) => (await fetch(`${base}/v1/agent/self`)).status === 200,
  });
  o.procs.push(proc);
  return { proc, base: `http://127.0.0.1:${httpPort}`, httpsPort };
}
