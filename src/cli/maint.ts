// `consul maint`: node or service maintenance mode, or with no flags the current state.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS } from "./http-client.ts";

const FLAGS = {
  ...HTTP_CLIENT_FLAGS,
  enable: boolFlag("Enable maintenance mode."),
  disable: boolFlag("Disable maintenance mode."),
  reason: stringFlag("Text describing the maintenance reason."),
  service: stringFlag("Control maintenance mode for a specific service ID."),
} as const;

const HELP = `
Usage: consulate maint [options]

  Places a node or service into maintenance mode. During maintenance mode,
  the node or service will be excluded from all queries through the DNS
  or API interfaces, effectively taking it out of the pool of available
  nodes. This is done by registering an additional critical health check.

  When enabling maintenance mode for a node or service, you may optionally
  specify a reason string. This string will appear in the "Notes" field
  of the critical health check which is registered against the node or
  service. If no reason is provided, a default value will be used.

  Maintenance mode is persistent, and will be restored in the event of an
  agent restart. It is therefore required to disable maintenance mode on
  a given node or service before it will be placed back into the pool.

  By default, we operate on the node as a whole. By specifying the
  "-service" argument, this behavior can be changed to enable or disable
  only a specific service.

  If no arguments are given, the agent's maintenance status will be shown.
  This will return blank if nothing is currently under maintenance.
`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The list mode's `Node:` / `Service:` blocks from the agent's checks. */
export function maintenanceLines(nodeName: string, checks: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const raw of Object.values(checks)) {
    if (!isRecord(raw)) continue;
    const checkID = String(raw.CheckID ?? "");
    const notes = String(raw.Notes ?? "");
    if (checkID === "_node_maintenance") {
      lines.push("Node:", `  Name:   ${nodeName}`, `  Reason: ${notes}`, "");
    } else if (checkID.startsWith("_service_maintenance:")) {
      lines.push("Service:", `  ID:     ${String(raw.ServiceID ?? "")}`, `  Reason: ${notes}`, "");
    }
  }
  return lines;
}

async function runMaint(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  if (flags.enable && flags.disable) {
    printLine(io.stderr, "Only one of -enable or -disable may be provided");
    return 1;
  }
  if (!flags.enable && flags.reason !== "") {
    printLine(io.stderr, "Reason may only be provided with -enable");
    return 1;
  }
  if (!flags.enable && !flags.disable && flags.service !== "") {
    printLine(io.stderr, "Service requires either -enable or -disable");
    return 1;
  }
  const client = await connectOrReport(flags, io);
  if (!client) return 1;

  let nodeName: string;
  try {
    const self = await client.getJSON("/v1/agent/self");
    const config = isRecord(self) && isRecord(self.Config) ? self.Config : {};
    nodeName = String(config.NodeName ?? "");
  } catch (err) {
    printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    return 1;
  }

  if (!flags.enable && !flags.disable) {
    let checks: unknown;
    try {
      checks = await client.getJSON("/v1/agent/checks");
    } catch (err) {
      printLine(io.stderr, `Error getting checks: ${errorMessage(err)}`);
      return 1;
    }
    for (const line of maintenanceLines(nodeName, isRecord(checks) ? checks : {})) printLine(io.stdout, line);
    return 0;
  }

  const enable = flags.enable;
  const verb = enable ? "enabl" : "disabl";
  const query = { enable: enable ? "true" : "false", reason: enable && flags.reason !== "" ? flags.reason : undefined };
  if (flags.service === "") {
    try {
      await client.sendOK({ method: "PUT", path: "/v1/agent/maintenance", query });
    } catch (err) {
      printLine(io.stderr, `Error ${verb}ing node maintenance: ${errorMessage(err)}`);
      return 1;
    }
    printLine(io.stdout, `Node maintenance is now ${verb}ed`);
    return 0;
  }
  try {
    await client.sendOK({ method: "PUT", path: `/v1/agent/service/maintenance/${escapePath(flags.service)}`, query });
  } catch (err) {
    printLine(io.stderr, `Error ${verb}ing service maintenance: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Service maintenance is now ${verb}ed for ${JSON.stringify(flags.service)}`);
  return 0;
}

export const maintCommand: CommandDefinition = {
  synopsis: "Controls node or service maintenance mode",
  help: helpFor(HELP, FLAGS),
  run: runMaint,
};
