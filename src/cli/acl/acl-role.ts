// `consulate acl role create|read|update|delete|list`: /v1/acl/role* with consul's flags,
// messages and exit codes (command/acl/role/*).
import type { CommandDefinition } from "../command-definition.ts";
import { helpFor, parseCommandLine } from "../command-definition.ts";
import type { CommandIO } from "../command-io.ts";
import { printLine } from "../command-io.ts";
import { boolFlag, stringFlag } from "../go-flags.ts";
import { connectOrReport, errorMessage, escapePath } from "../http-client.ts";
import {
  ACL_HTTP_FLAGS, formatOrReport, idFromPartial, linkFlags, listField, mergeNodeIdentities, mergeServiceIdentities, nodeIdentities, objectLinks,
  OUTPUT_FLAGS, printOutput, putAndPrint, readObject, serviceIdentities, type Json,
} from "./acl-common.ts";
import { deleteFlags, idFlags, LIST_FLAGS, runDeleteNamed, runListNamed } from "./acl-named-objects.ts";
import { formatRole, formatRoleList } from "./acl-format.ts";

const ID_FLAGS = idFlags("role");

const LINK_FLAGS = linkFlags("role");

// create

const CREATE_FLAGS = {
  ...OUTPUT_FLAGS,
  name: stringFlag("The new role's name. This flag is required."),
  description: stringFlag("A description of the role"),
  ...LINK_FLAGS,
  ...ACL_HTTP_FLAGS,
} as const;

const CREATE_HELP = `
Usage: consulate acl role create -name NAME [options]

    Create a new role:

        $ consulate acl role create -name "new-role" \\
                                    -description "This is an example role" \\
                                    -policy-id b52fc3de-5 \\
                                    -policy-name "acl-replication" \\
                                    -service-identity "web" \\
                                    -service-identity "db:east,west"
`;

async function runCreate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(CREATE_FLAGS, CREATE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (f.name === "") {
    printLine(io.stderr, "Missing require '-name' flag");
    printLine(io.stderr, helpFor(CREATE_HELP, CREATE_FLAGS)());
    return 1;
  }
  if (f["policy-name"].length + f["policy-id"].length + f["service-identity"].length + f["node-identity"].length === 0) {
    printLine(io.stderr, "Cannot create a role without specifying -policy-name, -policy-id, -service-identity, or -node-identity at least once");
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  const role: Json = { Name: f.name, Description: f.description };
  try {
    role.ServiceIdentities = serviceIdentities(f["service-identity"]);
    role.NodeIdentities = nodeIdentities(f["node-identity"]);
    role.Policies = await objectLinks(client, "policy", f["policy-name"], f["policy-id"]);
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }
  return putAndPrint(io, client, "/v1/acl/role", role, "Failed to create new role", (saved) => formatRole(saved, format, f.meta));
}

// read

const READ_FLAGS = { ...OUTPUT_FLAGS, ...ID_FLAGS, ...ACL_HTTP_FLAGS } as const;

const READ_HELP = `
Usage: consulate acl role read [options] ROLE

    This command will retrieve and print out the details of a single role.

    Read:

        $ consulate acl role read -id fdabbcb5-9de5-4d1a-961f-77214ae88cba

    Read by name:

        $ consulate acl role read -name my-policy
`;

async function runRead(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(READ_FLAGS, READ_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (f.id === "" && f.name === "") {
    printLine(io.stderr, "Must specify either the -id or -name parameters");
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let role: Json | undefined;
  let label = f.name;
  try {
    if (f.id !== "") {
      try {
        label = await idFromPartial(client, "role", f.id);
      } catch (err) {
        printLine(io.stderr, `Error determining role ID: ${errorMessage(err)}`);
        return 1;
      }
      role = await readObject(client, `/v1/acl/role/${escapePath(label)}`);
    } else {
      role = await readObject(client, `/v1/acl/role/name/${escapePath(label)}`);
    }
  } catch (err) {
    printLine(io.stderr, `Error reading role ${JSON.stringify(label)}: ${errorMessage(err)}`);
    return 1;
  }
  if (!role) {
    printLine(io.stderr, `Role not found with ${f.id !== "" ? "ID" : "name"} ${JSON.stringify(label)}`);
    return 1;
  }
  printOutput(io, formatRole(role, format, f.meta));
  return 0;
}

// update

const UPDATE_FLAGS = {
  ...OUTPUT_FLAGS,
  id: ID_FLAGS.id,
  name: stringFlag("The role name."),
  description: stringFlag("A description of the role"),
  ...LINK_FLAGS,
  "no-merge": boolFlag("Do not merge the current role information with what is provided to the command. Instead overwrite all fields with the exception of the role ID which is immutable."),
  ...ACL_HTTP_FLAGS,
} as const;

const UPDATE_HELP = `
Usage: consulate acl role update [options]

    Updates a role. By default it will merge the role information with its
    current state so that you do not have to provide all parameters. This
    behavior can be disabled by passing -no-merge.

    Rename the role:

        $ consulate acl role update -id abcd -name "better-name"

    Update all editable fields of the role:

        $ consulate acl role update -id abcd \\
                                    -name "better-name" \\
                                    -description "replication" \\
                                    -policy-name "token-replication" \\
                                    -service-identity "web"
`;

async function runUpdate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(UPDATE_FLAGS, UPDATE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (f.id === "") {
    printLine(io.stderr, "Cannot update a role without specifying the -id parameter");
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let id: string;
  try {
    id = await idFromPartial(client, "role", f.id);
  } catch (err) {
    printLine(io.stderr, `Error determining role ID: ${errorMessage(err)}`);
    return 1;
  }
  let role: Json;
  try {
    const policies = await objectLinks(client, "policy", f["policy-name"], f["policy-id"]);
    const services = serviceIdentities(f["service-identity"]);
    const nodes = nodeIdentities(f["node-identity"]);
    if (f["no-merge"]) {
      role = { ID: id, Name: f.name, Description: f.description, Policies: policies, ServiceIdentities: services, NodeIdentities: nodes };
    } else {
      let current: Json | undefined;
      try {
        current = await readObject(client, `/v1/acl/role/${escapePath(id)}`);
        if (!current) throw new Error(`Role not found with ID ${JSON.stringify(id)}`);
      } catch (err) {
        printLine(io.stderr, `Error when retrieving current role: ${errorMessage(err)}`);
        return 1;
      }
      role = { ...current };
      if (f.name !== "") role.Name = f.name;
      if (f.description !== "") role.Description = f.description;
      const mergedPolicies = listField(role.Policies);
      for (const link of policies) {
        if (!mergedPolicies.some((p) => (link.ID !== undefined && p.ID === link.ID) || (link.Name !== undefined && p.Name === link.Name))) mergedPolicies.push(link);
      }
      role.Policies = mergedPolicies;
      role.ServiceIdentities = mergeServiceIdentities(role.ServiceIdentities, services);
      role.NodeIdentities = mergeNodeIdentities(role.NodeIdentities, nodes);
    }
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }
  return putAndPrint(io, client, `/v1/acl/role/${escapePath(id)}`, role, `Failed to update role ${id}`, (saved) => formatRole(saved, format, f.meta));
}

// delete

const DELETE_FLAGS = deleteFlags("role");

const DELETE_HELP = `
Usage: consulate acl role delete [options] -id ROLE

    Deletes an ACL role by providing either the ID or a unique ID prefix.

        Delete by prefix:

          $ consulate acl role delete -id b6b85

        Delete by full ID:

          $ consulate acl role delete -id b6b856da-5193-4e78-845a-7d61ca8371ba

        Delete by name:

          $ consulate acl role delete -name my-role
`;

const runDelete = runDeleteNamed("role", DELETE_HELP);

// list

const LIST_HELP = `
Usage: consulate acl role list [options]

    Lists all the ACL roles.

    Example:

        $ consulate acl role list
`;

const runList = runListNamed("role", LIST_HELP, formatRoleList);

export const aclRoleCommands: Readonly<Record<string, CommandDefinition>> = {
  "acl role": {
    synopsis: "Manage Consul's ACL roles",
    help: () => "Usage: consulate acl role <subcommand> [options] [args]\n\n  This command has subcommands for managing Consul's ACL roles.",
  },
  "acl role create": { synopsis: "Create an ACL role", help: helpFor(CREATE_HELP, CREATE_FLAGS), run: runCreate },
  "acl role read": { synopsis: "Read an ACL role", help: helpFor(READ_HELP, READ_FLAGS), run: runRead },
  "acl role update": { synopsis: "Update an ACL role", help: helpFor(UPDATE_HELP, UPDATE_FLAGS), run: runUpdate },
  "acl role delete": { synopsis: "Delete an ACL role", help: helpFor(DELETE_HELP, DELETE_FLAGS), run: runDelete },
  "acl role list": { synopsis: "Lists ACL roles", help: helpFor(LIST_HELP, LIST_FLAGS), run: runList },
};
