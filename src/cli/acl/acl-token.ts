// `consulate acl token create|read|update|delete|list|clone`: /v1/acl/token* with consul's
// flags, messages and exit codes (command/acl/token/*).
import type { CommandDefinition } from "../command-definition.ts";
import { helpFor, parseCommandLine } from "../command-definition.ts";
import type { CommandIO } from "../command-io.ts";
import { printLine } from "../command-io.ts";
import { boolFlag, durationFlag, repeatableFlag, stringFlag } from "../go-flags.ts";
import { connectOrReport, errorMessage, escapePath } from "../http-client.ts";
import {
  ACL_HTTP_FLAGS, deleteObject, formatOrReport, idFromPartial, linkFlags, listField, listObjects, mergeNodeIdentities, mergeServiceIdentities,
  nodeIdentities, objectLinks, OUTPUT_FLAGS, printOutput, putAndPrint, putJSON, readObject, serviceIdentities, type Json,
} from "./acl-common.ts";
import { formatToken, formatTokenExpanded, formatTokenList } from "./acl-format.ts";

const ACCESSOR_FLAGS = {
  "accessor-id": stringFlag("The Accessor ID of the token. It may be specified as a unique ID prefix but will error if the prefix matches multiple token Accessor IDs"),
  id: stringFlag("DEPRECATED. Use -accessor-id instead."),
} as const;

const LINK_FLAGS = {
  ...linkFlags("token"),
  "role-id": repeatableFlag("ID of a role to use for this token. May be specified multiple times"),
  "role-name": repeatableFlag("Name of a role to use for this token. May be specified multiple times"),
} as const;

/** The accessor a command names (-accessor-id, or the deprecated -id with consul's warning). */
function accessorArgument(values: { "accessor-id": string; id: string }, io: CommandIO, missing: string): string | undefined {
  if (values["accessor-id"] !== "") return values["accessor-id"];
  if (values.id !== "") {
    printLine(io.stderr, "Use the -accessor-id parameter to specify token by Accessor ID");
    return values.id;
  }
  printLine(io.stderr, missing);
  return undefined;
}

// create

const CREATE_FLAGS = {
  accessor: stringFlag("Create the token with this Accessor ID. It must be a UUID. If not specified one will be auto-generated"),
  secret: stringFlag("Create the token with this Secret ID. It must be a UUID. If not specified one will be auto-generated"),
  ...OUTPUT_FLAGS,
  local: boolFlag("Create this as a datacenter local token"),
  description: stringFlag("A description of the token"),
  ...LINK_FLAGS,
  "expires-ttl": durationFlag("Duration of time this token should be valid for"),
  ...ACL_HTTP_FLAGS,
} as const;

const CREATE_HELP = `
Usage: consulate acl token create [options]

  When creating a new token policies may be linked using either the -policy-id
  or the -policy-name options. When specifying policies by IDs you may use a
  unique prefix of the UUID as a shortcut for specifying the entire UUID.

  Create a new token:

          $ consulate acl token create -description "Replication token" \\
                                       -policy-id b52fc3de-5 \\
                                       -policy-name "acl-replication" \\
                                       -role-id c630d4ef-6 \\
                                       -role-name "db-updater" \\
                                       -service-identity "web" \\
                                       -service-identity "db:east,west"
`;

async function runCreate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(CREATE_FLAGS, CREATE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (
    f["policy-name"].length + f["policy-id"].length + f["role-name"].length + f["role-id"].length + f["service-identity"].length + f["node-identity"].length ===
    0
  ) {
    printLine(io.stderr, "Cannot create a token without specifying -policy-name, -policy-id, -role-name, -role-id, -service-identity, or -node-identity at least once");
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  const token: Json = { Description: f.description, Local: f.local, AccessorID: f.accessor, SecretID: f.secret };
  if (f["expires-ttl"] > 0) token.ExpirationTTL = f["expires-ttl"] * 1_000_000;
  try {
    token.ServiceIdentities = serviceIdentities(f["service-identity"]);
    token.NodeIdentities = nodeIdentities(f["node-identity"]);
    token.Policies = await objectLinks(client, "policy", f["policy-name"], f["policy-id"]);
    token.Roles = await objectLinks(client, "role", f["role-name"], f["role-id"]);
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }
  return putAndPrint(io, client, "/v1/acl/token", token, "Failed to create new token", (saved) => formatToken(saved, format, f.meta));
}

// read

const READ_FLAGS = {
  ...OUTPUT_FLAGS,
  ...ACCESSOR_FLAGS,
  self: boolFlag("Indicates that the current HTTP token should be read by secret ID instead of expecting a -accessor-id option"),
  expanded: boolFlag("Indicates that the contents of the policies and roles affecting the token should also be shown."),
  ...ACL_HTTP_FLAGS,
} as const;

const READ_HELP = `
Usage: consulate acl token read [options] -accessor-id TOKENID

  This command will retrieve and print out the details of a single token.

  Using a partial ID:

          $ consulate acl token read -accessor-id 4be56c77-82

  Using the full ID:

          $ consulate acl token read -accessor-id 4be56c77-8244-4c7d-b08c-667b8c71baed
`;

async function runRead(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(READ_FLAGS, READ_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  let accessor = "";
  if (f.self && f.expanded) {
    printLine(io.stderr, "Cannot use both -expanded and -self. Instead, use -expanded and -id=<accessor id>.");
    return 1;
  }
  if (!f.self) {
    const named = accessorArgument(f, io, "Must specify the -accessor-id parameter");
    if (named === undefined) return 1;
    accessor = named;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let token: Json | undefined;
  if (f.self) {
    try {
      token = await readObject(client, "/v1/acl/token/self");
    } catch (err) {
      printLine(io.stderr, `Error reading token: ${errorMessage(err)}`);
      return 1;
    }
    if (!token) {
      printLine(io.stderr, "Error reading token: token not found");
      return 1;
    }
  } else {
    try {
      accessor = await idFromPartial(client, "token", accessor);
    } catch (err) {
      printLine(io.stderr, `Error determining token ID: ${errorMessage(err)}`);
      return 1;
    }
    try {
      token = await readObject(client, `/v1/acl/token/${escapePath(accessor)}`, f.expanded ? { expanded: "true" } : undefined);
    } catch (err) {
      printLine(io.stderr, `Error reading token ${JSON.stringify(accessor)}: ${errorMessage(err)}`);
      return 1;
    }
    if (!token) {
      printLine(io.stderr, `Token not found with ID ${JSON.stringify(accessor)}`);
      return 1;
    }
  }
  printOutput(io, f.expanded ? formatTokenExpanded(token, format, f.meta) : formatToken(token, format, f.meta));
  return 0;
}

// update

const UPDATE_FLAGS = {
  ...OUTPUT_FLAGS,
  ...ACCESSOR_FLAGS,
  description: stringFlag("A description of the token"),
  ...LINK_FLAGS,
  "append-policy-id": repeatableFlag("ID of a policy to add to this token. The token retains existing policies. May be specified multiple times"),
  "append-policy-name": repeatableFlag("Name of a policy to add to this token. The token retains existing policies. May be specified multiple times"),
  "append-role-id": repeatableFlag("ID of a role to add to this token. The token retains existing roles. May be specified multiple times"),
  "append-role-name": repeatableFlag("Name of a role to add to this token. The token retains existing roles. May be specified multiple times"),
  "append-service-identity": repeatableFlag("Name of a service identity to use for this token. This token retains existing service identities. May be specified multiple times. Format is the SERVICENAME or SERVICENAME:DATACENTER1,DATACENTER2,..."),
  "append-node-identity": repeatableFlag("Name of a node identity to use for this token. This token retains existing node identities. May be specified multiple times. Format is NODENAME:DATACENTER"),
  ...ACL_HTTP_FLAGS,
} as const;

const UPDATE_HELP = `
Usage: consulate acl token update [options]

    This command will update a token. Some parts such as marking the token local
    cannot be changed.

    Update all editable fields of the token:

        $ consulate acl token update -accessor-id abcd \\
                                     -description "replication" \\
                                     -policy-name "token-replication" \\
                                     -role-name "db-updater"
`;

async function runUpdate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(UPDATE_FLAGS, UPDATE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  const named = accessorArgument(f, io, "Cannot update a token without specifying the -accessor-id parameter");
  if (named === undefined) return 1;
  if (f["service-identity"].length > 0 && f["append-service-identity"].length > 0) {
    printLine(io.stderr, "Cannot combine the use of service-identity flag with append-service-identity. To set or overwrite existing service identities, use -service-identity. To append to existing service identities, use -append-service-identity.");
    return 1;
  }
  if (f["node-identity"].length > 0 && f["append-node-identity"].length > 0) {
    printLine(io.stderr, "Cannot combine the use of node-identity flag with append-node-identity. To set or overwrite existing node identities, use -node-identity. To append to existing node identities, use -append-node-identity.");
    return 1;
  }
  if ((f["policy-id"].length > 0 || f["policy-name"].length > 0) && (f["append-policy-id"].length > 0 || f["append-policy-name"].length > 0)) {
    printLine(io.stderr, "Cannot combine the use of policy-id/policy-name flags with append- variants. To set or overwrite existing policies, use -policy-id or -policy-name. To append to existing policies, use -append-policy-id or -append-policy-name.");
    return 1;
  }
  if ((f["role-id"].length > 0 || f["role-name"].length > 0) && (f["append-role-id"].length > 0 || f["append-role-name"].length > 0)) {
    printLine(io.stderr, "Cannot combine the use of role-id/role-name flags with append- variants. To set or overwrite existing roles, use -role-id or -role-name. To append to existing roles, use -append-role-id or -append-role-name.");
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let accessor: string;
  try {
    accessor = await idFromPartial(client, "token", named);
  } catch (err) {
    printLine(io.stderr, `Error determining token ID: ${errorMessage(err)}`);
    return 1;
  }
  let token: Json | undefined;
  try {
    token = await readObject(client, `/v1/acl/token/${escapePath(accessor)}`);
    if (!token) throw new Error(`Token not found with ID ${JSON.stringify(accessor)}`);
  } catch (err) {
    printLine(io.stderr, `Error when retrieving current token: ${errorMessage(err)}`);
    return 1;
  }
  if (f.description !== "") token.Description = f.description;
  try {
    const replacePolicies = f["policy-id"].length > 0 || f["policy-name"].length > 0;
    const newPolicies = replacePolicies
      ? await objectLinks(client, "policy", f["policy-name"], f["policy-id"])
      : await objectLinks(client, "policy", f["append-policy-name"], f["append-policy-id"]);
    token.Policies = replacePolicies ? newPolicies : [...listField(token.Policies), ...newPolicies];
    const replaceRoles = f["role-id"].length > 0 || f["role-name"].length > 0;
    const newRoles = replaceRoles ? await objectLinks(client, "role", f["role-name"], f["role-id"]) : await objectLinks(client, "role", f["append-role-name"], f["append-role-id"]);
    token.Roles = replaceRoles ? newRoles : [...listField(token.Roles), ...newRoles];
    token.ServiceIdentities =
      f["append-service-identity"].length > 0
        ? mergeServiceIdentities(token.ServiceIdentities, serviceIdentities(f["append-service-identity"]))
        : serviceIdentities(f["service-identity"]);
    token.NodeIdentities =
      f["append-node-identity"].length > 0 ? mergeNodeIdentities(token.NodeIdentities, nodeIdentities(f["append-node-identity"])) : nodeIdentities(f["node-identity"]);
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }
  return putAndPrint(io, client, `/v1/acl/token/${escapePath(accessor)}`, token, `Failed to update token ${accessor}`, (saved) => formatToken(saved, format, f.meta));
}

// delete

const DELETE_FLAGS = { ...ACCESSOR_FLAGS, ...ACL_HTTP_FLAGS } as const;

const DELETE_HELP = `
Usage: consulate acl token delete [options] -accessor-id TOKEN

  Deletes an ACL token by providing either the ID or a unique ID prefix.

      Delete by prefix:

          $ consulate acl token delete -accessor-id b6b85

      Delete by full ID:

          $ consulate acl token delete -accessor-id b6b856da-5193-4e78-845a-7d61ca8371ba
`;

async function runDelete(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(DELETE_FLAGS, DELETE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  const named = accessorArgument(f, io, "Must specify the -accessor-id parameter");
  if (named === undefined) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let accessor: string;
  try {
    accessor = await idFromPartial(client, "token", named);
  } catch (err) {
    printLine(io.stderr, `Error determining token ID: ${errorMessage(err)}`);
    return 1;
  }
  try {
    await deleteObject(client, `/v1/acl/token/${escapePath(accessor)}`);
  } catch (err) {
    printLine(io.stderr, `Error deleting token ${JSON.stringify(accessor)}: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Token ${JSON.stringify(accessor)} deleted successfully`);
  return 0;
}

// list

const LIST_FLAGS = { ...OUTPUT_FLAGS, ...ACL_HTTP_FLAGS } as const;

const LIST_HELP = `
Usage: consulate acl token list [options]

  List all the ACL tokens

          $ consulate acl token list
`;

async function runList(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(LIST_FLAGS, LIST_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let tokens: Json[];
  try {
    tokens = await listObjects(client, "/v1/acl/tokens");
  } catch (err) {
    printLine(io.stderr, `Failed to retrieve the token list: ${errorMessage(err)}`);
    return 1;
  }
  printOutput(io, formatTokenList(tokens, format, f.meta));
  return 0;
}

// clone

const CLONE_FLAGS = {
  ...OUTPUT_FLAGS,
  ...ACCESSOR_FLAGS,
  description: stringFlag("A description of the new cloned token"),
  ...ACL_HTTP_FLAGS,
} as const;

const CLONE_HELP = `
Usage: consulate acl token clone [options]

  This command will clone a token. When cloning an alternate description may be given
  for use with the new token.

  Example:

      $ consulate acl token clone -accessor-id abcd -description "replication"
`;

async function runClone(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(CLONE_FLAGS, CLONE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  const named = accessorArgument(f, io, "Cannot clone a token without specifying the -accessor-id parameter");
  if (named === undefined) return 1;
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let accessor: string;
  try {
    accessor = await idFromPartial(client, "token", named);
  } catch (err) {
    printLine(io.stderr, `Error determining token ID: ${errorMessage(err)}`);
    return 1;
  }
  let cloned: Json;
  try {
    cloned = await putJSON(client, `/v1/acl/token/${escapePath(accessor)}/clone`, { Description: f.description });
  } catch (err) {
    printLine(io.stderr, `Failed to clone token: ${errorMessage(err)}`);
    return 1;
  }
  printOutput(io, formatToken(cloned, format, f.meta));
  return 0;
}

export const aclTokenCommands: Readonly<Record<string, CommandDefinition>> = {
  "acl token": {
    synopsis: "Manage Consul's ACL tokens",
    help: () => "Usage: consulate acl token <subcommand> [options] [args]\n\n  This command has subcommands for managing Consul's ACL tokens.",
  },
  "acl token create": { synopsis: "Create an ACL token", help: helpFor(CREATE_HELP, CREATE_FLAGS), run: runCreate },
  "acl token read": { synopsis: "Read an ACL token", help: helpFor(READ_HELP, READ_FLAGS), run: runRead },
  "acl token update": { synopsis: "Update an ACL token", help: helpFor(UPDATE_HELP, UPDATE_FLAGS), run: runUpdate },
  "acl token delete": { synopsis: "Delete an ACL token", help: helpFor(DELETE_HELP, DELETE_FLAGS), run: runDelete },
  "acl token list": { synopsis: "List ACL tokens", help: helpFor(LIST_HELP, LIST_FLAGS), run: runList },
  "acl token clone": { synopsis: "Clone an ACL token", help: helpFor(CLONE_HELP, CLONE_FLAGS), run: runClone },
};
