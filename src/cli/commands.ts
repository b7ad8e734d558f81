// Every command the CLI knows, keyed by its full name ("kv get"). Groups without `run`
// only print their help, as consul's `kv` or `catalog` do.
import { aclCommands } from "./acl/acl.ts";
import { agentControlCommands } from "./agent-control.ts";
import { catalogCommands } from "./catalog.ts";
import { configEntryCommands } from "./config-entry.ts";
import { connectCommands } from "./connect.ts";
import { intentionCommands } from "./intention.ts";
import { eventCommand } from "./event.ts";
import { execCommand } from "./exec.ts";
import type { CommandDefinition } from "./command-definition.ts";
import { infoCommand } from "./info.ts";
import { keygenCommand } from "./keygen.ts";
import { keyringCommand } from "./keyring.ts";
import { kvCommands } from "./kv.ts";
import { lockCommand } from "./lock.ts";
import { maintCommand } from "./maint.ts";
import { membersCommand } from "./members.ts";
import { operatorCommands } from "./operator.ts";
import { rttCommand } from "./rtt.ts";
import { snapshotCommands } from "./snapshot.ts";
import { servicesCommands } from "./services.ts";
import { tlsCommands } from "./tls.ts";
import { validateCommand } from "./validate.ts";
import { versionCommand } from "./version.ts";
import { watchCommand } from "./watch.ts";
import { monitorCommand } from "./monitor.ts";
import { debugCommand } from "./debug.ts";

const agentCommand: CommandDefinition = {
  synopsis: "Runs a Consul agent",
  help: () => "Usage: consulate agent [options]",
  handlesHelp: true,
  run: async (args) => {
    // Loaded lazily: the agent pulls in the whole server, which other commands never need.
    const { runAgentCommand } = await import("./agent.ts");
    return runAgentCommand(args);
  },
};

export const COMMANDS: Readonly<Record<string, CommandDefinition>> = {
  ...aclCommands,
  agent: agentCommand,
  ...agentControlCommands,
  ...catalogCommands,
  ...configEntryCommands,
  ...connectCommands,
  event: eventCommand,
  exec: execCommand,
  info: infoCommand,
  ...intentionCommands,
  keygen: keygenCommand,
  keyring: keyringCommand,
  ...kvCommands,
  lock: lockCommand,
  maint: maintCommand,
  debug: debugCommand,
  members: membersCommand,
  monitor: monitorCommand,
  ...operatorCommands,
  rtt: rttCommand,
  ...snapshotCommands,
  ...servicesCommands,
  ...tlsCommands,
  validate: validateCommand,
  version: versionCommand,
  watch: watchCommand,
};
