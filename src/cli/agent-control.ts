// `consul join|leave|force-leave|reload`: one-shot control calls against the local agent.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS } from "./http-client.ts";
import { renderUsage } from "./usage.ts";
import { HTTP_FLAG_NAMES } from "./http-client.ts";

// ---- join ---------------------------------------------------------------------------------

const JOIN_FLAGS = {
  wan: boolFlag("Joins a server to another server in the WAN pool."),
  ...HTTP_CLIENT_FLAGS,
} as const;

const JOIN_HELP = `
Usage: consulate join [options] address ...

  Tells a running Consul agent (with "consulate agent") to join the cluster
  by specifying at least one existing member.
`;

async function runJoin(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(JOIN_FLAGS, JOIN_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length === 0) {
    printLine(io.stderr, "At least one address to join must be specified.");
    printLine(io.stderr, "");
    printLine(io.stderr, renderUsage(JOIN_HELP, JOIN_FLAGS, HTTP_FLAG_NAMES));
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;
  let joined = 0;
  for (const address of parsed.args) {
    try {
      await client.sendOK({
        method: "PUT",
        path: `/v1/agent/join/${escapePath(address)}`,
        query: { wan: parsed.values.wan ? "1" : undefined },
      });
      joined++;
    } catch (err) {
      printLine(io.stderr, `Error joining address '${address}': ${errorMessage(err)}`);
    }
  }
  if (joined === 0) {
    printLine(io.stderr, "Failed to join any nodes.");
    return 1;
  }
  printLine(io.stdout, `Successfully joined cluster by contacting ${joined} nodes.`);
  return 0;
}

// ---- leave --------------------------------------------------------------------------------

const LEAVE_FLAGS = { ...HTTP_CLIENT_FLAGS } as const;
const LEAVE_HELP = `
Usage: consulate leave [options]

  Causes the agent to gracefully leave the Consul cluster and shutdown.
`;

async function runLeave(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(LEAVE_FLAGS, LEAVE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length > 0) {
    printLine(io.stderr, `Error found unexpected args: [${parsed.args.join(" ")}]`);
    printLine(io.stdout, renderUsage(LEAVE_HELP, LEAVE_FLAGS, HTTP_FLAG_NAMES));
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;
  try {
    await client.sendOK({ method: "PUT", path: "/v1/agent/leave" });
  } catch (err) {
    printLine(io.stderr, `Error leaving: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, "Graceful leave complete");
  return 0;
}

// ---- force-leave --------------------------------------------------------------------------

const FORCE_LEAVE_FLAGS = {
  prune: boolFlag("Remove agent forcibly from list of members"),
  wan: boolFlag("Exclusively leave the agent from the WAN serf pool."),
  ...HTTP_CLIENT_FLAGS,
  ...HTTP_SERVER_FLAGS,
} as const;

const FORCE_LEAVE_HELP = `
Usage: consulate force-leave [options] name

  Forces a member of a Consul cluster to enter the "left" state. Note
  that if the member is still actually alive, it will eventually rejoin
  the cluster. This command is most useful for cleaning out "failed" nodes
  that are never coming back. If you do not force leave a failed node,
  Consul will attempt to reconnect to those failed nodes for some period of
  time before eventually reaping them.
`;

async function runForceLeave(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FORCE_LEAVE_FLAGS, FORCE_LEAVE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length !== 1) {
    printLine(io.stderr, "A single node name must be specified to force leave.");
    printLine(io.stderr, "");
    printLine(io.stderr, renderUsage(FORCE_LEAVE_HELP, FORCE_LEAVE_FLAGS, HTTP_FLAG_NAMES));
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;
  try {
    await client.sendOK({
      method: "PUT",
      path: `/v1/agent/force-leave/${escapePath(parsed.args[0])}`,
      query: { prune: parsed.values.prune ? "1" : undefined, wan: parsed.values.wan ? "1" : undefined },
    });
  } catch (err) {
    printLine(io.stderr, `Error force leaving: ${errorMessage(err)}`);
    return 1;
  }
  return 0;
}

// ---- reload -------------------------------------------------------------------------------

const RELOAD_FLAGS = { ...HTTP_CLIENT_FLAGS } as const;
const RELOAD_HELP = `
Usage: consulate reload

  Causes the agent to reload configurations. This can be used instead
  of sending the SIGHUP signal to the agent.
`;

async function runReload(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(RELOAD_FLAGS, RELOAD_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;
  try {
    await client.sendOK({ method: "PUT", path: "/v1/agent/reload" });
  } catch (err) {
    printLine(io.stderr, `Error reloading: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, "Configuration reload triggered");
  return 0;
}

export const agentControlCommands: Readonly<Record<string, CommandDefinition>> = {
  join: { synopsis: "Tell Consul agent to join cluster", help: helpFor(JOIN_HELP, JOIN_FLAGS), run: runJoin },
  leave: {
    synopsis: "Gracefully leaves the Consul cluster and shuts down",
    help: helpFor(LEAVE_HELP, LEAVE_FLAGS),
    run: runLeave,
  },
  "force-leave": {
    synopsis: 'Forces a member of the cluster to enter the "left" state',
    help: helpFor(FORCE_LEAVE_HELP, FORCE_LEAVE_FLAGS),
    run: runForceLeave,
  },
  reload: {
    synopsis: "Triggers the agent to reload configuration files",
    help: helpFor(RELOAD_HELP, RELOAD_FLAGS),
    run: runReload,
  },
};
