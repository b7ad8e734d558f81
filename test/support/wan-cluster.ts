import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSULATE_BIN, freePort } from "./agent-process.ts";

// Agents of several datacenters on loopback (multi-DC integration tests): each on its own
// 127.0.0.x with free ports, a fresh data dir, and WAN gossip timing fast enough that joins
// and failures show within a few seconds instead of Consul's WAN minutes.

export const FAST_WAN_HCL = [
  'retry_interval_wan = "500ms"',
  'retry_interval = "500ms"',
  "gossip_wan {",
  '  probe_interval = "200ms"',
  '  probe_timeout = "100ms"',
  '  gossip_interval = "50ms"',
  "  suspicion_mult = 2",
  "}",
].join("\n");

export interface DcAgentSpec {
  name: string;
  dc: string;
  bind: string;
  httpPort: number;
  dnsPort: number;
  serverPort: number;
  lanPort: number;
  wanPort: number;
  dataDir: string;
}

export async function dcAgentSpec(name: string, dc: string, bind: string): Promise<DcAgentSpec> {
  return {
    name,
    dc,
    bind,
    httpPort: await freePort(),
    dnsPort: await freePort(),
    serverPort: await freePort(),
    lanPort: await freePort(),
    wanPort: await freePort(),
    dataDir: await mkdtemp(join(tmpdir(), `consulate-dc-${name}-`)),
  };
}

/** Flags every agent of these tests takes: its datacenter, node name, addresses and ports. */
function commonArgs(s: DcAgentSpec): string[] {
  return [
    `-node=${s.name}`,
    `-datacenter=${s.dc}`,
    `-data-dir=${s.dataDir}`,
    `-bind=${s.bind}`,
    "-client=127.0.0.1",
    `-http-port=${s.httpPort}`,
    `-dns-port=${s.dnsPort}`,
    `-server-port=${s.serverPort}`,
    `-serf-lan-port=${s.lanPort}`,
    `-hcl=${FAST_WAN_HCL}`,
  ];
}

export const lanAddr = (s: DcAgentSpec): string => `${s.bind}:${s.lanPort}`;
export const wanAddr = (s: DcAgentSpec): string => `${s.bind}:${s.wanPort}`;

/** A server: `-bootstrap-expect=<expect>` (1: -bootstrap), LAN-joining `lanJoin`, WAN-joining `wanJoin`. */
export function dcServerArgs(s: DcAgentSpec, expect: number, lanJoin: readonly DcAgentSpec[], wanJoin: readonly DcAgentSpec[]): string[] {
  return [
    "-server",
    expect === 1 ? "-bootstrap" : `-bootstrap-expect=${expect}`,
    `-serf-wan-port=${s.wanPort}`,
    ...commonArgs(s),
    ...lanJoin.map((o) => `-retry-join=${lanAddr(o)}`),
    ...wanJoin.map((o) => `-retry-join-wan=${wanAddr(o)}`),
  ];
}

/** A client agent of `s.dc` LAN-joining `servers`. */
export function dcClientArgs(s: DcAgentSpec, servers: readonly DcAgentSpec[]): string[] {
  return [...commonArgs(s), ...servers.map((o) => `-retry-join=${lanAddr(o)}`)];
}

/** Runs `consulate <args>` against an agent's HTTP port. */
export function runCli(httpPort: number, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CONSULATE_BIN, ...args], {
      env: { ...process.env, CONSUL_HTTP_ADDR: `127.0.0.1:${httpPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
