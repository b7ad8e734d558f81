// The library entry: embed a Consul-compatible dev agent in a Node process, the way a test
// suite would otherwise spawn `consul agent -dev`.
import type { AgentFlagValues } from "./config/agent-flags.ts";
import { loadRuntimeConfig } from "./config/load.ts";
import { agentOptionsFromConfig } from "./launch/from-config.ts";
import { startAgent } from "./launch/start-agent.ts";
import { silentLogger, createLogger } from "./runtime/logger.ts";

export interface DevAgentOptions {
  /** Node name; defaults to the host name, as `consul agent -dev` does. */
  nodeName?: string;
  datacenter?: string;
  /** HTTP port; 0 (the default) picks a free one. */
  httpPort?: number;
  /** DNS port; 0 (the default) picks a free one, -1 disables DNS. */
  dnsPort?: number;
  /** Extra HCL fragments, as `-hcl` would pass them. */
  hcl?: string[];
  /** Write agent logs to stderr (default: silent). */
  logs?: boolean;
}

export interface DevAgent {
  /** Base URL of the HTTP API, e.g. "http://127.0.0.1:41234". */
  httpAddress: string;
  httpPort: number;
  /** DNS "host:port" (UDP and TCP on the same port); null when disabled. */
  dnsAddress: string | null;
  dnsPort: number | null;
  nodeName: string;
  datacenter: string;
  stop(): Promise<void>;
}

export async function startDevAgent(options: DevAgentOptions = {}): Promise<DevAgent> {
  const flags: AgentFlagValues = { dev: true };
  if (options.nodeName) flags.node = options.nodeName;
  if (options.datacenter) flags.datacenter = options.datacenter;
  if (options.hcl) flags.hcl = options.hcl;
  const rc = await loadRuntimeConfig(flags);
  const logger = options.logs ? createLogger({ level: rc.logLevel, json: false, write: (l) => process.stderr.write(l) }) : silentLogger;
  // Port 0 means "disabled" in consul's config, so the free-port request bypasses it.
  const base = agentOptionsFromConfig(rc);
  const dnsPort = options.dnsPort ?? 0;
  const running = await startAgent(
    { ...base, httpPort: options.httpPort ?? 0, dns: base.dns && dnsPort >= 0 ? { ...base.dns, port: dnsPort } : undefined, freePortFallback: true },
    { logger },
  );
  const { host, port } = running.http.address;
  return {
    httpAddress: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    httpPort: port,
    dnsAddress: running.dns[0] ? `${host.includes(":") ? `[${host}]` : host}:${running.dns[0].udpPort}` : null,
    dnsPort: running.dns[0]?.udpPort ?? null,
    nodeName: rc.nodeName,
    datacenter: rc.datacenter,
    stop: () => running.stop(),
  };
}

export type { RuntimeConfig } from "./config/runtime-config.ts";

// The Connect-native SDK (spec/connect.md §9).
export { connect, ConnectService, ConnectError } from "./connect-native/connect.ts";
export type { ConnectServiceOptions, DialOptions, MeshFetchInit, AuthorizeDecision, ConnectErrorCode } from "./connect-native/connect.ts";
