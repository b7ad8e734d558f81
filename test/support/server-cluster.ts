import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./agent-process.ts";

// Command lines for real server processes in one datacenter (cluster-style integration tests):
// free ports per server, a fresh data dir, LAN gossip only.

export interface ServerSpec {
  name: string;
  bind: string;
  httpPort: number;
  serverPort: number;
  serfPort: number;
  dataDir: string;
}

/** Ports and a data dir (under the OS temp dir, named after `name`) for one server on `bind`. */
export async function serverSpec(name: string, bind: string): Promise<ServerSpec> {
  return {
    name,
    bind,
    httpPort: await freePort(),
    serverPort: await freePort(),
    serfPort: await freePort(),
    dataDir: await mkdtemp(join(tmpdir(), `consulate-${name}-`)),
  };
}

/** `agent -server -bootstrap-expect=<expect>` retry-joining `joins` over LAN gossip. */
export function serverArgs(spec: ServerSpec, expect: number, joins: readonly ServerSpec[], extra: readonly string[] = []): string[] {
  return [
    "-server",
    `-bootstrap-expect=${expect}`,
    `-data-dir=${spec.dataDir}`,
    `-bind=${spec.bind}`,
    "-client=127.0.0.1",
    `-node=${spec.name}`,
    `-http-port=${spec.httpPort}`,
    "-dns-port=-1",
    `-server-port=${spec.serverPort}`,
    `-serf-lan-port=${spec.serfPort}`,
    // No WAN pool: servers on the default 8302 would race other test files for the port.
    "-serf-wan-port=-1",
    ...joins.map((s) => `-retry-join=${s.bind}:${s.serfPort}`),
    ...extra,
  ];
}
