// `consul operator raft …` and `consul operator autopilot …` (spec/operator-snapshot-query.md §1–2).
import type { CommandDefinition, ParsedCommandLine } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { columnize } from "./columns.ts";
import { boolFlag, durationFlag, stringFlag, uintFlag } from "./go-flags.ts";
import type { FlagTable } from "./go-flags.ts";
import { formatGoDuration, parseDurationField } from "../model/duration.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, parseJSONBody, type ConsulHttpClient, type HttpFlagValues } from "./http-client.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;
const DELIM = "\x1f";

const OPERATOR_HELP = `
Usage: consulate operator <subcommand> [options]

  Provides cluster-level tools for Consul operators, such as interacting with
  the Raft subsystem. NOTE: Use this command with extreme caution, as improper
  use could lead to a Consul outage and even loss of data.

  If ACLs are enabled then a token with operator privileges may be required in
  order to use this command. Requests are forwarded internally to the leader
  if required, so this can be run from any Consul node in a cluster.

  Run consulate operator <subcommand> with no arguments for help on that
  subcommand.
`;

const RAFT_HELP = `
Usage: consulate operator raft <subcommand> [options]

  The Raft operator command is used to interact with Consul's Raft subsystem. The
  command can be used to verify Raft peers or in rare cases to recover quorum by
  removing invalid peers.
`;

const AUTOPILOT_HELP = `
Usage: consulate operator autopilot <subcommand> [options]

  The Autopilot operator command is used to interact with Consul's Autopilot
  subsystem. The command can be used to view or modify the current configuration.
`;

const LIST_PEERS_HELP = `
Usage: consulate operator raft list-peers [options]

  Displays the current Raft peer configuration.
`;

const REMOVE_PEER_HELP = `
Usage: consulate operator raft remove-peer [options]

  Remove the Consul server with given -address from the Raft configuration.

  There are rare cases where a peer may be left behind in the Raft quorum even
  though the server is no longer present and known to the cluster. This command
  can be used to remove the failed server so that it is no longer affects the Raft
  quorum. If the server still shows in the output of the "consul members" command,
  it is preferable to clean up by simply running "consul force-leave" instead of
  this command.
`;

const TRANSFER_HELP = `
Usage: consulate operator raft transfer-leader [options]

  Transfer raft leadership to another node.
`;

const GET_CONFIG_HELP = `
Usage: consulate operator autopilot get-config [options]

  Displays the current Autopilot configuration.
`;

const SET_CONFIG_HELP = `
Usage: consulate operator autopilot set-config [options]

  Modifies the current Autopilot configuration.
`;

const STATE_HELP = `
Usage: consulate operator autopilot state [options]

  Displays the current Autopilot state.
`;

const REMOVE_FLAGS = {
  address: stringFlag("The address to remove from the Raft configuration."),
  id: stringFlag("The ID to remove from the Raft configuration."),
  ...HTTP_FLAGS,
} as const;

const TRANSFER_FLAGS = {
  id: stringFlag("The ID of the node to transfer leadership to."),
  ...HTTP_FLAGS,
} as const;

const SET_FLAGS = {
  "cleanup-dead-servers": boolFlag(
    "Controls whether Consul will automatically remove dead servers when new ones are successfully added. Must be one of `true|false`.",
  ),
  "max-trailing-logs": uintFlag("Controls the maximum number of log entries that a server can trail the leader by before being considered unhealthy."),
  "min-quorum": uintFlag("Sets the minimum number of servers required in a cluster before autopilot is allowed to prune dead servers."),
  "last-contact-threshold": durationFlag(
    "Controls the maximum amount of time a server can go without contact from the leader before being considered unhealthy. Must be a duration value such as `200ms`.",
  ),
  "server-stabilization-time": durationFlag(
    "Controls the minimum amount of time a server must be stable in the 'healthy' state before being added to the cluster. Only takes effect if all servers are running Raft protocol version 3 or higher. Must be a duration value such as `10s`.",
  ),
  "redundancy-zone-tag": stringFlag("(Enterprise-only) Controls the node_meta tag name used for separating servers into different redundancy zones."),
  "disable-upgrade-migration": boolFlag(
    "(Enterprise-only) Controls whether Consul will avoid promoting new servers until it can perform a migration. Must be one of `true|false`.",
  ),
  "upgrade-version-tag": stringFlag(
    "(Enterprise-only) The node_meta tag to use for version info when performing upgrade migrations. If left blank, the Consul version will be used.",
  ),
  ...HTTP_FLAGS,
} as const;

const STATE_FLAGS = {
  format: stringFlag("The format the output will be in. Must be one of pretty|json", "pretty"),
  ...HTTP_FLAGS,
} as const;

type Connected = { client: ConsulHttpClient } | number;

async function connected(flags: HttpFlagValues, io: CommandIO): Promise<Connected> {
  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  return { client };
}

/** Parses the command line, then connects; a number is the exit code to return (help, bad flag, no client). */
async function parseAndConnect<T extends FlagTable & typeof HTTP_FLAGS>(
  flags: T,
  help: string,
  args: string[],
  io: CommandIO,
): Promise<{ parsed: ParsedCommandLine<T>; client: ConsulHttpClient } | number> {
  const parsed = parseCommandLine(flags, help, args, io);
  if (typeof parsed === "number") return parsed;
  const c = await connected(parsed.values, io);
  if (typeof c === "number") return c;
  return { parsed, client: c.client };
}

interface RaftServer {
  ID: string;
  Node: string;
  Address: string;
  Leader: boolean;
  Voter: boolean;
  ProtocolVersion: string;
}

interface ServerHealth {
  ID: string;
  LastIndex: number;
}

/** The list-peers table: configuration joined with autopilot health for the commit columns. */
export function listPeersTable(servers: readonly RaftServer[], health: readonly ServerHealth[]): string {
  const byId = new Map(health.map((h) => [h.ID, h]));
  const leader = servers.find((s) => s.Leader);
  const leaderIndex = leader ? (byId.get(leader.ID)?.LastIndex ?? 0) : 0;
  const lines = [["Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Commit Index", "Trails Leader By"].join(DELIM)];
  for (const s of servers) {
    const protocol = s.ProtocolVersion === "" ? "<=1" : s.ProtocolVersion;
    const state = s.Leader ? "leader" : "follower";
    const h = byId.get(s.ID);
    if (h) {
      const trails = Math.max(0, leaderIndex - h.LastIndex);
      const trailsText = s.Leader ? "_" : trails <= 1 ? `${trails} Commit` : `${trails} Commits`;
      lines.push([s.Node, s.ID, s.Address, state, String(s.Voter), protocol, String(h.LastIndex), trailsText].join(DELIM));
    } else {
      lines.push([s.Node, s.ID, s.Address, state, String(s.Voter), protocol, "_"].join(DELIM));
    }
  }
  return columnize(lines, DELIM);
}

async function runListPeers(args: string[], io: CommandIO): Promise<number> {
  const c = await parseAndConnect(HTTP_FLAGS, LIST_PEERS_HELP, args, io);
  if (typeof c === "number") return c;
  try {
    let config: { Servers?: RaftServer[] };
    try {
      config = (await c.client.getJSON("/v1/operator/raft/configuration")) as { Servers?: RaftServer[] };
    } catch (err) {
      throw new Error(`Failed to retrieve raft configuration: ${errorMessage(err)}`);
    }
    // Health answers 429 when unhealthy with the same body, which list-peers still shows.
    const res = await c.client.send({ method: "GET", path: "/v1/operator/autopilot/health", read: true });
    if (res.statusCode !== 200 && res.statusCode !== 429) {
      throw new Error(`Failed to retrieve autopilot health: Unexpected response code: ${res.statusCode} (${res.body.toString("utf8").trim()})`);
    }
    const health = parseJSONBody(res.body) as { Servers?: ServerHealth[] };
    printLine(io.stdout, listPeersTable(config.Servers ?? [], health.Servers ?? []));
    return 0;
  } catch (err) {
    printLine(io.stderr, `Error getting peers: ${errorMessage(err)}`);
    return 1;
  }
}

async function runRemovePeer(args: string[], io: CommandIO): Promise<number> {
  const c = await parseAndConnect(REMOVE_FLAGS, REMOVE_PEER_HELP, args, io);
  if (typeof c === "number") return c;
  const { address, id } = c.parsed.values;
  try {
    if (address === "" && id === "") throw new Error("an address or id is required for the peer to remove");
    if (address !== "" && id !== "") throw new Error("cannot give both an address and id");
    await c.client.sendOK({ method: "DELETE", path: "/v1/operator/raft/peer", query: address !== "" ? { address } : { id } });
  } catch (err) {
    printLine(io.stderr, `Error removing peer: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, address !== "" ? `Removed peer with address ${JSON.stringify(address)}` : `Removed peer with id ${JSON.stringify(id)}`);
  return 0;
}

async function runTransferLeader(args: string[], io: CommandIO): Promise<number> {
  const c = await parseAndConnect(TRANSFER_FLAGS, TRANSFER_HELP, args, io);
  if (typeof c === "number") return c;
  const { id } = c.parsed.values;
  try {
    let reply: { Success?: boolean };
    try {
      const res = await c.client.sendOK({
        method: "POST",
        path: "/v1/operator/raft/transfer-leader",
        query: id !== "" ? { id } : undefined,
      });
      reply = parseJSONBody(res.body) as { Success?: boolean };
    } catch (err) {
      throw new Error(`Failed to transfer leadership ${errorMessage(err)}`);
    }
    if (reply.Success !== true) throw new Error("Failed to transfer leadership");
  } catch (err) {
    printLine(io.stderr, `Error transfering leadership: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, "Success");
  return 0;
}

interface AutopilotConfig {
  CleanupDeadServers: boolean;
  LastContactThreshold: string;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTime: string;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
  ModifyIndex: number;
}

/** The current autopilot configuration, or exit code 1 after printing why it could not be read. */
async function readAutopilotConfig(client: ConsulHttpClient, io: CommandIO): Promise<AutopilotConfig | number> {
  try {
    return (await client.getJSON("/v1/operator/autopilot/configuration")) as AutopilotConfig;
  } catch (err) {
    printLine(io.stderr, `Error querying Autopilot configuration: ${errorMessage(err)}`);
    return 1;
  }
}

async function runGetConfig(args: string[], io: CommandIO): Promise<number> {
  const c = await parseAndConnect(HTTP_FLAGS, GET_CONFIG_HELP, args, io);
  if (typeof c === "number") return c;
  const config = await readAutopilotConfig(c.client, io);
  if (typeof config === "number") return config;
  printLine(io.stdout, `CleanupDeadServers = ${String(config.CleanupDeadServers)}`);
  printLine(io.stdout, `LastContactThreshold = ${config.LastContactThreshold}`);
  printLine(io.stdout, `MaxTrailingLogs = ${config.MaxTrailingLogs}`);
  printLine(io.stdout, `MinQuorum = ${config.MinQuorum}`);
  printLine(io.stdout, `ServerStabilizationTime = ${config.ServerStabilizationTime}`);
  printLine(io.stdout, `RedundancyZoneTag = ${JSON.stringify(config.RedundancyZoneTag)}`);
  printLine(io.stdout, `DisableUpgradeMigration = ${String(config.DisableUpgradeMigration)}`);
  printLine(io.stdout, `UpgradeVersionTag = ${JSON.stringify(config.UpgradeVersionTag)}`);
  return 0;
}

async function runSetConfig(args: string[], io: CommandIO): Promise<number> {
  const c = await parseAndConnect(SET_FLAGS, SET_CONFIG_HELP, args, io);
  if (typeof c === "number") return c;
  const config = await readAutopilotConfig(c.client, io);
  if (typeof config === "number") return config;
  // Only flags given on the command line change the configuration (Consul's flags.*Value.Merge).
  const { parsed } = c;
  const v = parsed.values;
  const given = (name: keyof typeof SET_FLAGS): boolean => parsed.explicit.has(name);
  if (given("cleanup-dead-servers")) config.CleanupDeadServers = v["cleanup-dead-servers"];
  if (given("redundancy-zone-tag")) config.RedundancyZoneTag = v["redundancy-zone-tag"];
  if (given("disable-upgrade-migration")) config.DisableUpgradeMigration = v["disable-upgrade-migration"];
  if (given("upgrade-version-tag")) config.UpgradeVersionTag = v["upgrade-version-tag"];
  if (given("min-quorum")) config.MinQuorum = v["min-quorum"];
  if (given("max-trailing-logs")) config.MaxTrailingLogs = v["max-trailing-logs"];
  if (given("last-contact-threshold")) config.LastContactThreshold = formatGoDuration(v["last-contact-threshold"]);
  if (given("server-stabilization-time")) config.ServerStabilizationTime = formatGoDuration(v["server-stabilization-time"]);
  // Normalize what the server sent back into Go duration text (it may be nanoseconds).
  config.LastContactThreshold = formatGoDuration(parseDurationField(config.LastContactThreshold));
  config.ServerStabilizationTime = formatGoDuration(parseDurationField(config.ServerStabilizationTime));
  let updated: unknown;
  try {
    const res = await c.client.sendOK({
      method: "PUT",
      path: "/v1/operator/autopilot/configuration",
      query: { cas: String(config.ModifyIndex) },
      body: JSON.stringify(config),
    });
    updated = parseJSONBody(res.body);
  } catch (err) {
    printLine(io.stderr, `Error setting Autopilot configuration: ${errorMessage(err)}`);
    return 1;
  }
  if (updated === true) {
    printLine(io.stdout, "Configuration updated!");
    return 0;
  }
  printLine(io.stdout, "Configuration could not be atomically updated, please try again");
  return 1;
}

interface AutopilotServer {
  ID: string;
  Name: string;
  Address: string;
  Version: string;
  Status: string;
  NodeType: string;
  NodeStatus: string;
  Healthy: boolean;
  LastContact: string;
  LastTerm: number;
  LastIndex: number;
  Meta?: Record<string, string> | null;
}

interface AutopilotState {
  Healthy: boolean;
  FailureTolerance: number;
  OptimisticFailureTolerance: number;
  Leader: string;
  Voters: string[] | null;
  Servers: Record<string, AutopilotServer> | null;
}

/** The `pretty` layout of `consul operator autopilot state` (CE fields). */
export function formatAutopilotState(state: AutopilotState): string {
  let out = "";
  out += `Healthy:                      ${String(state.Healthy)}\n`;
  out += `Failure Tolerance:            ${state.FailureTolerance}\n`;
  out += `Optimistic Failure Tolerance: ${state.OptimisticFailureTolerance}\n`;
  out += `Leader:                       ${state.Leader}\n`;
  out += "Voters:\n";
  for (const v of state.Voters ?? []) out += `   ${v}\n`;
  out += "Servers:\n";
  const servers = state.Servers ?? {};
  for (const id of Object.keys(servers).sort()) {
    const s = servers[id];
    out += `   ${s.ID}\n`;
    out += `      Name:            ${s.Name}\n`;
    out += `      Address:         ${s.Address}\n`;
    out += `      Version:         ${s.Version}\n`;
    out += `      Status:          ${s.Status}\n`;
    out += `      Node Type:       ${s.NodeType}\n`;
    out += `      Node Status:     ${s.NodeStatus}\n`;
    out += `      Healthy:         ${String(s.Healthy)}\n`;
    out += `      Last Contact:    ${s.LastContact}\n`;
    out += `      Last Term:       ${s.LastTerm}\n`;
    out += `      Last Index:      ${s.LastIndex}\n`;
    const meta = s.Meta ?? {};
    const keys = Object.keys(meta).sort();
    if (keys.length > 0) {
      out += "      Meta\n";
      for (const k of keys) out += `         ${JSON.stringify(k)}: ${JSON.stringify(meta[k])}\n`;
    }
  }
  return out;
}

async function runState(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(STATE_FLAGS, STATE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const format = parsed.values.format;
  if (format !== "pretty" && format !== "json") {
    printLine(io.stderr, `Error: Unknown format: ${format}`);
    return 1;
  }
  const c = await connected(parsed.values, io);
  if (typeof c === "number") return c;
  let state: AutopilotState;
  try {
    state = (await c.client.getJSON("/v1/operator/autopilot/state")) as AutopilotState;
  } catch (err) {
    printLine(io.stderr, `Error reading Autopilot state: ${errorMessage(err)}`);
    return 1;
  }
  io.stdout.write(format === "json" ? `${JSON.stringify(state, null, 4)}\n` : formatAutopilotState(state));
  return 0;
}

export const operatorCommands: Readonly<Record<string, CommandDefinition>> = {
  operator: { synopsis: "Provides cluster-level tools for Consul operators", help: helpFor(OPERATOR_HELP, undefined) },
  "operator raft": { synopsis: "Provides cluster-level tools for Consul operators", help: helpFor(RAFT_HELP, undefined) },
  "operator raft list-peers": { synopsis: "Display the current Raft peer configuration", help: helpFor(LIST_PEERS_HELP, HTTP_FLAGS), run: runListPeers },
  "operator raft remove-peer": {
    synopsis: "Remove a Consul server from the Raft configuration",
    help: helpFor(REMOVE_PEER_HELP, REMOVE_FLAGS),
    run: runRemovePeer,
  },
  "operator raft transfer-leader": { synopsis: "Transfer raft leadership to another node", help: helpFor(TRANSFER_HELP, TRANSFER_FLAGS), run: runTransferLeader },
  "operator autopilot": { synopsis: "Provides tools for modifying Autopilot configuration", help: helpFor(AUTOPILOT_HELP, undefined) },
  "operator autopilot get-config": {
    synopsis: "Display the current Autopilot configuration",
    help: helpFor(GET_CONFIG_HELP, HTTP_FLAGS),
    run: runGetConfig,
  },
  "operator autopilot set-config": { synopsis: "Modify the current Autopilot configuration", help: helpFor(SET_CONFIG_HELP, SET_FLAGS), run: runSetConfig },
  "operator autopilot state": { synopsis: "Display the current Autopilot state", help: helpFor(STATE_HELP, STATE_FLAGS), run: runState },
};
