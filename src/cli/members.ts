// `consul members`: the gossip pool as seen by the local agent, in columnize layout.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { columnize } from "./columns.ts";
import { boolFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, HTTP_TENANCY_FLAGS } from "./http-client.ts";

const FLAGS = {
  detailed: boolFlag("Provides detailed information about nodes."),
  wan: boolFlag("If the agent is in server mode, this can be used to return the other peers in the WAN pool."),
  status: stringFlag(
    "If provided, output is filtered to only nodes matching the regular expression for status.",
    ".*",
  ),
  segment: stringFlag("(Enterprise-only) If provided, output is filtered to only nodes in the given segment.", "_all"),
  filter: stringFlag("Filter to use with the request", ""),
  ...HTTP_CLIENT_FLAGS,
  partition: HTTP_TENANCY_FLAGS.partition,
} as const;

const HELP = `
Usage: consulate members [options]

  Outputs the members of a running Consul agent.
`;

/** One entry of GET /v1/agent/members. */
export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
}

const SERF_STATUS = ["none", "alive", "leaving", "left", "failed"] as const;

/** serf.MemberStatus.String() */
export function memberStatusText(status: number): string {
  return SERF_STATUS[status] ?? `unknown MemberStatus ${status}`;
}

/** net.TCPAddr.String(): IPv6 hosts in brackets. */
function hostPort(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function isDefaultPartition(partition: string): boolean {
  return partition === "" || partition === "default";
}

/** Servers first, then the default partition, then by segment, partition and name. */
function compareMembers(a: AgentMember, b: AgentMember): number {
  const aServer = a.Tags.role === "consul";
  const bServer = b.Tags.role === "consul";
  if (aServer !== bServer) return aServer ? -1 : 1;
  const aDefault = isDefaultPartition(a.Tags.ap ?? "");
  const bDefault = isDefaultPartition(b.Tags.ap ?? "");
  if (aDefault !== bDefault) return aDefault ? -1 : 1;
  for (const key of ["segment", "ap"] as const) {
    const x = a.Tags[key] ?? "";
    const y = b.Tags[key] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0;
}

const DELIM = "\x1f";

export function standardMemberLines(members: readonly AgentMember[]): string[] {
  const lines = [["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"].join(DELIM)];
  for (const member of members) {
    const tags = member.Tags;
    const address = hostPort(member.Addr, member.Port);
    const status = memberStatusText(member.Status);
    let build = tags.build ?? "";
    if (build === "") build = "< 0.3";
    else if (build.includes(":")) build = build.slice(0, build.indexOf(":"));
    const type = tags.role === "consul" ? "server" : tags.role === "node" ? "client" : undefined;
    if (type === undefined) {
      lines.push([member.Name, address, status, "unknown", "", "", "", "", ""].join(DELIM));
    } else {
      lines.push(
        [member.Name, address, status, type, build, tags.vsn ?? "", tags.dc ?? "", tags.ap ?? "", tags.segment ?? ""].join(
          DELIM,
        ),
      );
    }
  }
  return lines;
}

export function detailedMemberLines(members: readonly AgentMember[]): string[] {
  const lines = [["Node", "Address", "Status", "Tags"].join(DELIM)];
  for (const member of members) {
    const tags = Object.keys(member.Tags)
      .sort()
      .map((key) => `${key}=${member.Tags[key]}`)
      .join(",");
    lines.push([member.Name, hostPort(member.Addr, member.Port), memberStatusText(member.Status), tags].join(DELIM));
  }
  return lines;
}

/** Fills the display-only tags the way consul does before filtering and sorting. */
function normalizeTags(member: AgentMember, segmentFlag: string): AgentMember {
  const tags = { ...member.Tags };
  if ((tags.ap ?? "") === "") tags.ap = "default";
  if (isDefaultPartition(tags.ap)) {
    if (segmentFlag === "_all" && tags.role === "consul") tags.segment = "<all>";
    else if ((tags.segment ?? "") === "") tags.segment = "<default>";
  } else {
    tags.segment = "";
  }
  return { ...member, Tags: tags };
}

function asMembers(body: unknown): AgentMember[] {
  if (!Array.isArray(body)) return [];
  return body.map((raw: Record<string, unknown>) => ({
    Name: String(raw.Name ?? ""),
    Addr: String(raw.Addr ?? ""),
    Port: Number(raw.Port ?? 0),
    Tags: (raw.Tags ?? {}) as Record<string, string>,
    Status: Number(raw.Status ?? 0),
  }));
}

async function runMembers(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;

  let statusPattern: RegExp;
  try {
    statusPattern = new RegExp(flags.status);
  } catch (err) {
    printLine(io.stderr, `Failed to compile status regexp: ${errorMessage(err)}`);
    return 1;
  }

  const client = await connectOrReport(flags, io);
  if (!client) return 1;

  let members: AgentMember[];
  try {
    const body = await client.getJSON("/v1/agent/members", {
      segment: flags.segment === "" ? undefined : flags.segment,
      wan: flags.wan ? "1" : undefined,
      filter: flags.filter === "" ? undefined : flags.filter,
    });
    members = asMembers(body);
  } catch (err) {
    printLine(io.stderr, `Error retrieving members: ${errorMessage(err)}`);
    return 1;
  }

  const shown = members
    .map((member) => normalizeTags(member, flags.segment))
    .filter((member) => statusPattern.test(memberStatusText(member.Status)))
    .sort(compareMembers);
  if (shown.length === 0) return 2;

  const lines = flags.detailed ? detailedMemberLines(shown) : standardMemberLines(shown);
  printLine(io.stdout, columnize(lines, DELIM));
  return 0;
}

export const membersCommand: CommandDefinition = {
  synopsis: "Lists the members of a Consul cluster",
  help: helpFor(HELP, FLAGS),
  run: runMembers,
};
