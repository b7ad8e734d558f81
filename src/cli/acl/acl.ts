// `consulate acl`, `acl bootstrap` and `acl set-agent-token`, plus the token, policy and role
// command groups: the whole `acl` tree for the command registry.
import type { CommandDefinition } from "../command-definition.ts";
import { helpFor, parseCommandLine } from "../command-definition.ts";
import type { CommandIO } from "../command-io.ts";
import { printLine } from "../command-io.ts";
import { connectOrReport, errorMessage } from "../http-client.ts";
import { ACL_HTTP_FLAGS, formatOrReport, loadDataSource, OUTPUT_FLAGS, printOutput, putJSON, type Json } from "./acl-common.ts";
import { formatToken } from "./acl-format.ts";
import { aclPolicyCommands } from "./acl-policy.ts";
import { aclRoleCommands } from "./acl-role.ts";
import { aclTokenCommands } from "./acl-token.ts";

const ACL_HELP = `Usage: consulate acl <subcommand> [options] [args]

  This command has subcommands for interacting with Consul's ACLs.
  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  Bootstrap ACLs:

      $ consulate acl bootstrap

  List all ACL Tokens:

      $ consulate acl token list

  Create a new ACL Policy:

      $ consulate acl policy create -name "my-policy" \\
                                    -description "This is my policy" \\
                                    -rules @rules.hcl

  Set the default agent token:

      $ consulate acl set-agent-token default 0bc6bc46-f25e-4262-b2d9-ffbe1d96be6f

  For more examples, ask for subcommand help or view the documentation.`;

// bootstrap

const BOOTSTRAP_FLAGS = { format: OUTPUT_FLAGS.format, ...ACL_HTTP_FLAGS } as const;

const BOOTSTRAP_HELP = `
Usage: consulate acl bootstrap [options]

  The bootstrap command will request Consul to generate a new token with unlimited privileges to use
  for management purposes and output its details. This can only be done once and afterwards bootstrapping
  will be disabled. If all tokens are lost and you need to bootstrap again you can follow the bootstrap
  reset procedure
`;

async function runBootstrap(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(BOOTSTRAP_FLAGS, BOOTSTRAP_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (parsed.args.length > 0) {
    printLine(io.stderr, "Too many arguments: expected 0 got " + String(parsed.args.length));
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let token: Json;
  try {
    token = await putJSON(client, "/v1/acl/bootstrap", undefined);
  } catch (err) {
    printLine(io.stderr, `Failed ACL bootstrapping: ${errorMessage(err)}`);
    return 1;
  }
  printOutput(io, formatToken(token, format, false));
  return 0;
}

// set-agent-token

/** The CLI's token type → the /v1/agent/token/<name> it sets (as the api package's Update*Token). */
const AGENT_TOKEN_PATHS: Readonly<Record<string, string>> = {
  default: "default",
  agent: "agent",
  recovery: "agent_recovery",
  replication: "replication",
  config_file_service_registration: "config_file_service_registration",
  dns: "dns",
};

const SET_AGENT_TOKEN_FLAGS = { ...ACL_HTTP_FLAGS } as const;

const SET_AGENT_TOKEN_HELP = `
Usage: consulate acl set-agent-token [options] TYPE TOKEN

  This command will set the corresponding token for the agent to use. If token
  persistence is not enabled, then tokens uploaded this way are not persisted
  and if the agent reloads then the tokens will need to be set again.

  Token Types:

    default                           The default token is the token that the agent will use for
                                      both internal agent operations and operations initiated by
                                      the HTTP and DNS interfaces when no specific token is provided.
                                      If not set the agent will use the anonymous token.

    agent                             The token that the agent will use for internal agent operations.
                                      If not given then the default token is used for these operations.

    recovery                          This sets the token that can be used to access the Agent APIs in
                                      the event that the ACL datacenter cannot be reached.

    replication                       This is the token that the agent will use for replication
                                      operations. This token will need to be configured with read access
                                      to whatever data is being replicated.

    config_file_service_registration  This is the token that the agent uses to register services
                                      and checks defined in config files.

    dns                               This is the token that the agent uses to answer DNS queries.

  Example:

    $ consulate acl set-agent-token default c4d0f8df-3aba-4ab6-a7a0-35b760dc29a1
`;

async function runSetAgentToken(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(SET_AGENT_TOKEN_FLAGS, SET_AGENT_TOKEN_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const rest = parsed.args;
  let problem: string | undefined;
  if (rest.length === 0) problem = "Missing TYPE and TOKEN arguments";
  else if (rest.length === 1) problem = Object.hasOwn(AGENT_TOKEN_PATHS, rest[0]) ? "Missing TOKEN argument" : "MISSING TYPE argument";
  else if (rest.length > 2) problem = `Too many arguments: expected 2 got ${rest.length}`;
  if (problem !== undefined) {
    printLine(io.stderr, `Error! ${problem}`);
    return 1;
  }
  const [type, tokenArgument] = rest;
  let secret: string;
  try {
    secret = await loadDataSource(tokenArgument, io);
  } catch (err) {
    printLine(io.stderr, `Error! ${errorMessage(err)}`);
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  const target = Object.hasOwn(AGENT_TOKEN_PATHS, type) ? AGENT_TOKEN_PATHS[type] : undefined;
  if (target === undefined) {
    printLine(io.stderr, "Unknown token type");
    return 1;
  }
  try {
    await client.sendOK({ method: "PUT", path: `/v1/agent/token/${target}`, body: JSON.stringify({ Token: secret }) });
  } catch (err) {
    printLine(io.stderr, `Failed to set ACL token ${JSON.stringify(type)}: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `ACL token ${JSON.stringify(type)} set successfully`);
  return 0;
}

export const aclCommands: Readonly<Record<string, CommandDefinition>> = {
  acl: { synopsis: "Interact with Consul's ACLs", help: () => ACL_HELP },
  "acl bootstrap": { synopsis: "Bootstrap Consul's ACL system", help: helpFor(BOOTSTRAP_HELP, BOOTSTRAP_FLAGS), run: runBootstrap },
  "acl set-agent-token": { synopsis: "Assign tokens for the Consul Agent's usage", help: helpFor(SET_AGENT_TOKEN_HELP, SET_AGENT_TOKEN_FLAGS), run: runSetAgentToken },
  ...aclTokenCommands,
  ...aclPolicyCommands,
  ...aclRoleCommands,
};
