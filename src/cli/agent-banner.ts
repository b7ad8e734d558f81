import type { RuntimeConfig } from "../config/runtime-config.ts";

// The startup banner exactly as consul prints it (cli.md §2 "Startup output"): labels
// right-aligned to the width of "Gossip Encryption", each line indented four spaces.

const LABEL_WIDTH = "Gossip Encryption".length;

export function formatAgentBanner(rc: RuntimeConfig, versions: { consul: string; consulate: string; buildDate: string }): string {
  const port = (p: number): string => String(p > 0 ? p : -1);
  const rows: [string, string][] = [
    ["Version", `'${versions.consul}'`],
    ["Revision", `'consulate-${versions.consulate}'`],
    ["Build Date", `'${versions.buildDate}'`],
    ["Node ID", `'${rc.nodeId}'`],
    ["Node name", `'${rc.nodeName}'`],
    ["Datacenter", `'${rc.datacenter}' (Segment: '${rc.server ? "<all>" : ""}')`],
    ["Server", `${rc.server} (Bootstrap: ${rc.bootstrap})`],
    [
      "Client Addr",
      `[${rc.clientAddrs.join(" ")}] (HTTP: ${port(rc.ports.http)}, HTTPS: ${port(rc.ports.https)}, gRPC: ${port(rc.ports.grpc)}, gRPC-TLS: ${port(rc.ports.grpcTls)}, DNS: ${port(rc.ports.dns)})`,
    ],
    ["Cluster Addr", `${rc.advertiseAddr} (LAN: ${rc.ports.serfLan}, WAN: ${rc.ports.serfWan})`],
    ["Gossip Encryption", String(rc.encryptKey !== "")],
    ["Auto-Encrypt-TLS", "false"],
    ["ACLs Enabled", String(rc.aclEnabled)],
    ["HTTPS TLS", "Verify Incoming: false, Verify Outgoing: false, Min Version: TLSv1_2"],
    ["gRPC TLS", "Verify Incoming: false, Min Version: TLSv1_2"],
    ["Internal RPC TLS", "Verify Incoming: false, Verify Outgoing: false (Verify Hostname: false), Min Version: TLSv1_2"],
  ];
  const lines = rows.map(([label, value]) => `    ${label.padStart(LABEL_WIDTH)}: ${value}`);
  return `==> Starting Consul agent...\n${lines.join("\n")}\n\n==> Log data will now stream in as it occurs:\n\n`;
}
