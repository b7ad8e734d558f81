import { openClientPorts } from "../agent/open-ports.ts";
import type { RuntimeConfig } from "../config/runtime-config.ts";

// The startup banner exactly as consul 1.17+ prints it (cli.md §2 "Startup output"): labels
// right-aligned to the width of "ACL Default Policy", each line indented four spaces. A port
// nothing listens on is printed as -1, as Consul prints a disabled listener.

const LABEL_WIDTH = "ACL Default Policy".length;

export function formatAgentBanner(rc: RuntimeConfig, versions: { consul: string; consulate: string; buildDate: string }): string {
  const open = openClientPorts(rc.ports);
  const { https, grpc, internalRpc: rpc } = rc.tls;
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
      `[${rc.clientAddrs.join(" ")}] (HTTP: ${open.http}, HTTPS: ${open.https}, gRPC: ${open.grpc}, gRPC-TLS: ${open.grpcTls}, DNS: ${open.dns})`,
    ],
    ["Cluster Addr", `${rc.advertiseAddr} (LAN: ${rc.ports.serfLan}, WAN: ${rc.ports.serfWan})`],
    ["Gossip Encryption", String(rc.encryptKey !== "")],
    ["Auto-Encrypt-TLS", String(rc.autoEncrypt.tls || rc.autoEncrypt.allowTls)],
    ["ACL Enabled", String(rc.aclEnabled)],
    // License reporting is an Enterprise feature; Community Edition always prints false.
    ["Reporting Enabled", "false"],
    ["ACL Default Policy", rc.aclDefaultPolicy],
    ["HTTPS TLS", `Verify Incoming: ${https.verifyIncoming}, Verify Outgoing: ${https.verifyOutgoing}, Min Version: ${https.minVersion}`],
    ["gRPC TLS", `Verify Incoming: ${grpc.verifyIncoming}, Min Version: ${grpc.minVersion}`],
    [
      "Internal RPC TLS",
      `Verify Incoming: ${rpc.verifyIncoming}, Verify Outgoing: ${rpc.verifyOutgoing} (Verify Hostname: ${rpc.verifyServerHostname}), Min Version: ${rpc.minVersion}`,
    ],
  ];
  const lines = rows.map(([label, value]) => `    ${label.padStart(LABEL_WIDTH)}: ${value}`);
  return `==> Starting Consul agent...\n${lines.join("\n")}\n\n==> Log data will now stream in as it occurs:\n\n`;
}
