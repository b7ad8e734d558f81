// `consulate acl token create|read|update|delete|list|clone`: /v1/acl/token* with consul's
// flags, messages and exit codes (command/acl/token/*).
import type { CommandDefinition } from "../command-definition.ts";
import { helpFor, parseCommandLine } from "../command-definition.ts";
import type { CommandIO } from "../command-io.ts";
import { printLine } from "../command-io.ts";
import { boolFlag, durationFlag, repeatableFlag, stringFlag, type FlagValues } from "../go-flags.ts";
import { connectOrReport, errorMessage, escapePath, type ConsulHttpClient } from "../http-client.ts";
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

const UPDATE_VISIBLE_FLAGS = {
  ...OUTPUT_FLAGS,
  ...ACCESSOR_FLAGS,
  description: stringFlag("A description of the token"),
  ...LINK_FLAGS,
  "policy-id": repeatableFlag("ID of a policy to use for this token. Overwrites existing policies. May be specified multiple times"),
  "policy-name": repeatableFlag("Name of a policy to use for this token. Overwrites existing policies. May be specified multiple times"),
  "role-id": repeatableFlag("ID of a role to use for this token. Overwrites existing roles. May be specified multiple times"),
  "role-name": repeatableFlag("Name of a role to use for this token. Overwrites existing roles. May be specified multiple times"),
  "append-policy-id": repeatableFlag("ID of a policy to use for this token. The token retains existing policies. May be specified multiple times"),
  "append-policy-name": repeatableFlag("Name of a policy to add to this token. The token retains existing policies. May be specified multiple times"),
  "append-role-id": repeatableFlag("ID of a role to add to this token. The token retains existing roles. May be specified multiple times"),
  "append-role-name": repeatableFlag("Name of a role to add to this token. The token retains existing roles. May be specified multiple times"),
  "append-service-identity": repeatableFlag("Name of a service identity to use for this token. This token retains existing service identities. May be specified multiple times. Format is the SERVICENAME or SERVICENAME:DATACENTER1,DATACENTER2,..."),
  "append-node-identity": repeatableFlag("Name of a node identity to use for this token. This token retains existing node identities. May be specified multiple times. Format is NODENAME:DATACENTER"),
  ...ACL_HTTP_FLAGS,
} as const;

/** Consul still accepts its pre-append flags, registered after the help is built so they stay out of it. */
const UPDATE_FLAGS = {
  ...UPDATE_VISIBLE_FLAGS,
  "merge-policies": boolFlag("DEPRECATED. Use -append-policy-id or -append-policy-name instead."),
  "merge-roles": boolFlag("DEPRECATED. Use -append-role-id or -append-role-name instead."),
  "merge-service-identities": boolFlag("DEPRECATED. Use -append-service-identity instead."),
  "merge-node-identities": boolFlag("DEPRECATED. Use -append-node-identity instead."),
} as const;

const UPDATE_HELP = `
Usage: consulate acl token update [options]

    This command will update a token. Some parts such as marking the token local
    cannot be changed.

    Update a token description and take the policies from the existing token:

        $ consulate acl token update -accessor-id abcd -description "replication" -merge-policies

    Update all editable fields of the token:

        $ consulate acl token update -accessor-id abcd \\
                                     -description "replication" \\
                                     -policy-name "token-replication" \\
                                     -role-name "db-updater"
`;

type UpdateValues = FlagValues<typeof UPDATE_FLAGS>;

/** A link the token already has (by ID, or by Name for links given by name). */
const hasLink = (links: readonly Json[], key: "ID" | "Name", value: string): boolean => links.some((l) => l[key] === value);

/**
 * The token's policies or roles after an update, as consul's CLI computes them. -policy-*
 * replaces the links, -append-policy-* adds to them, neither keeps them; the deprecated
 * -merge-policies adds the -policy-* ones not already linked (and ignores -append-*).
 */
async function updatedLinks(client: ConsulHttpClient, kind: "policy" | "role", current: unknown, f: UpdateValues, io: CommandIO): Promise<Json[] | undefined> {
  const names = kind === "policy" ? f["policy-name"] : f["role-name"];
  const ids = kind === "policy" ? f["policy-id"] : f["role-id"];
  const plural = kind === "policy" ? "policies" : "roles";
  const existing = listField(current);
  if (kind === "policy" ? f["merge-policies"] : f["merge-roles"]) {
    printLine(io.stderr, `merge-${plural} is deprecated and will be removed in a future Consul version. Use \`append-${kind}-name\` or \`append-${kind}-id\` instead.`);
    const merged = [...existing];
    for (const Name of names) if (!hasLink(merged, "Name", Name)) merged.push({ Name });
    for (const partial of ids) {
      const [link] = await objectLinks(client, kind, [], [partial]);
      const id = String(link.ID);
      // consul 1.20's CLI links a merged role ID as {Name: id}, which the server then fails to
      // find by name; the flag names an ID, so it is linked by ID here.
      if (!hasLink(merged, "ID", id)) merged.push({ ID: id });
    }
    return merged;
  }
  const appendNames = kind === "policy" ? f["append-policy-name"] : f["append-role-name"];
  const appendIds = kind === "policy" ? f["append-policy-id"] : f["append-role-id"];
  const replace = names.length > 0 || ids.length > 0;
  if (replace && (appendNames.length > 0 || appendIds.length > 0)) {
    printLine(
      io.stderr,
      `Cannot combine the use of ${kind}-id/${kind}-name flags with append- variants. To set or overwrite existing ${plural}, use -${kind}-id or -${kind}-name. To append to existing ${plural}, use -append-${kind}-id or -append-${kind}-name.`,
    );
    return undefined;
  }
  const added = replace ? await objectLinks(client, kind, names, ids) : await objectLinks(client, kind, appendNames, appendIds);
  return replace ? added : [...existing, ...added];
}

async function runUpdate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(UPDATE_FLAGS, UPDATE_HELP, args, io, UPDATE_VISIBLE_FLAGS);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  const named = accessorArgument(f, io, "Cannot update a token without specifying the -accessor-id parameter");
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
  let token: Json | undefined;
  try {
    token = await readObject(client, `/v1/acl/token/${escapePath(accessor)}`);
    if (!token) throw new Error(`Token not found with ID ${JSON.stringify(accessor)}`);
  } catch (err) {
    printLine(io.stderr, `Error when retrieving current token: ${errorMessage(err)}`);
    return 1;
  }
  if (f.description !== "") token.Description = f.description;
  // The checks and the order of consul's: identities are parsed first, then policies, roles.
  const appendServices = f["append-service-identity"].length > 0;
  if (f["service-identity"].length > 0 && appendServices) {
    printLine(io.stderr, "Cannot combine the use of service-identity flag with append-service-identity. To set or overwrite existing service identities, use -service-identity. To append to existing service identities, use -append-service-identity.");
    return 1;
  }
  const appendNodes = f["append-node-identity"].length > 0;
  try {
    const services = serviceIdentities(appendServices ? f["append-service-identity"] : f["service-identity"]);
    if (f["node-identity"].length > 0 && appendNodes) {
      printLine(io.stderr, "Cannot combine the use of node-identity flag with append-node-identity. To set or overwrite existing node identities, use -node-identity. To append to existing node identities, use -append-node-identity.");
      return 1;
    }
    const nodes = nodeIdentities(appendNodes ? f["append-node-identity"] : f["node-identity"]);
    const policies = await updatedLinks(client, "policy", token.Policies, f, io);
    if (policies === undefined) return 1;
    token.Policies = policies;
    const roles = await updatedLinks(client, "role", token.Roles, f, io);
    if (roles === undefined) return 1;
    token.Roles = roles;
    // Without -service-identity or -append-service-identity consul's update clears them (as it
    // does node identities): only the merge forms keep what the token had.
    token.ServiceIdentities = f["merge-service-identities"] || appendServices ? mergeServiceIdentities(token.ServiceIdentities, services) : services;
    token.NodeIdentities = f["merge-node-identities"] || appendNodes ? mergeNodeIdentities(token.NodeIdentities, nodes) : nodes;
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
  "acl token update": { synopsis: "Update an ACL token", help: helpFor(UPDATE_HELP, UPDATE_VISIBLE_FLAGS), run: runUpdate },
  "acl token delete": { synopsis: "Delete an ACL token", help: helpFor(DELETE_HELP, DELETE_FLAGS), run: runDelete },
  "acl token list": { synopsis: "List ACL tokens", help: helpFor(LIST_HELP, LIST_FLAGS), run: runList },
  "acl token clone": { synopsis: "Clone an ACL token", help: helpFor(CLONE_HELP, CLONE_FLAGS), run: runClone },
};
