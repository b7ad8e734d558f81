// `consulate acl policy create|read|update|delete|list`: /v1/acl/polic* with consul's flags,
// messages and exit codes (command/acl/policy/*). `-rules` takes HCL/JSON, `@file` or `-`.
import type { CommandDefinition } from "../command-definition.ts";
import { helpFor, parseCommandLine } from "../command-definition.ts";
import type { CommandIO } from "../command-io.ts";
import { printLine } from "../command-io.ts";
import { boolFlag, repeatableFlag, stringFlag } from "../go-flags.ts";
import { connectOrReport, errorMessage, escapePath } from "../http-client.ts";
import { ACL_HTTP_FLAGS, formatOrReport, idFromPartial, loadDataSource, OUTPUT_FLAGS, printOutput, putAndPrint, readObject, type Json } from "./acl-common.ts";
import { deleteFlags, idFlags, LIST_FLAGS, runDeleteNamed, runListNamed } from "./acl-named-objects.ts";
import { formatPolicy, formatPolicyList } from "./acl-format.ts";

const ID_FLAGS = idFlags("policy");

// create

const CREATE_FLAGS = {
  ...OUTPUT_FLAGS,
  name: stringFlag("The new policy's name. This flag is required."),
  description: stringFlag("A description of the policy"),
  "valid-datacenter": repeatableFlag("Datacenter that the policy should be valid within. This flag may be specified multiple times"),
  rules: stringFlag("The policy rules. May be prefixed with '@' to indicate that the value is a file path to load the rules from. '-' may also be given to indicate that the rules are available on stdin"),
  ...ACL_HTTP_FLAGS,
} as const;

const CREATE_HELP = `
Usage: consulate acl policy create -name NAME [options]

    Both the -rules and -from-token option values allow loading the value
    from stdin, a file or the raw value. To use stdin pass '-' as the value.
    To load the value from a file prefix the value with an '@'. Any other
    values will be used directly.

    Create a new policy:

        $ consulate acl policy create -name "new-policy" \\
                                      -description "This is an example policy" \\
                                      -valid-datacenter "dc1" \\
                                      -valid-datacenter "dc2" \\
                                      -rules @rules.hcl
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
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  let rules: string;
  try {
    rules = await loadDataSource(f.rules, io);
  } catch (err) {
    printLine(io.stderr, `Error loading rules: ${errorMessage(err)}`);
    return 1;
  }
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  const policy = { Name: f.name, Description: f.description, Datacenters: f["valid-datacenter"], Rules: rules };
  return putAndPrint(io, client, "/v1/acl/policy", policy, "Failed to create new policy", (saved) => formatPolicy(saved, format, f.meta));
}

// read

const READ_FLAGS = { ...OUTPUT_FLAGS, ...ID_FLAGS, ...ACL_HTTP_FLAGS } as const;

const READ_HELP = `
Usage: consulate acl policy read [options] POLICY

    This command will retrieve and print out the details
    of a single policy.

    Read:

        $ consulate acl policy read -id fdabbcb5-9de5-4d1a-961f-77214ae88cba

    Read by name:

        $ consulate acl policy read -name my-policy
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
  let policy: Json | undefined;
  let label: string;
  if (f.id !== "") {
    try {
      label = await idFromPartial(client, "policy", f.id);
    } catch (err) {
      printLine(io.stderr, `Error determining policy ID: ${errorMessage(err)}`);
      return 1;
    }
    try {
      policy = await readObject(client, `/v1/acl/policy/${escapePath(label)}`);
    } catch (err) {
      printLine(io.stderr, `Error reading policy ${JSON.stringify(label)}: ${errorMessage(err)}`);
      return 1;
    }
  } else {
    label = f.name;
    try {
      policy = await readObject(client, `/v1/acl/policy/name/${escapePath(label)}`);
    } catch (err) {
      printLine(io.stderr, `Error reading policy ${JSON.stringify(label)}: ${errorMessage(err)}`);
      return 1;
    }
  }
  if (!policy) {
    printLine(io.stderr, `Policy not found with ${f.id !== "" ? "ID" : "name"} ${JSON.stringify(label)}`);
    return 1;
  }
  printOutput(io, formatPolicy(policy, format, f.meta));
  return 0;
}

// update

const UPDATE_FLAGS = {
  ...OUTPUT_FLAGS,
  ...ID_FLAGS,
  name: stringFlag("The policy name."),
  description: stringFlag("A description of the policy"),
  "valid-datacenter": repeatableFlag("Datacenter that the policy should be valid within. This flag may be specified multiple times"),
  rules: stringFlag("The policy rules. May be prefixed with '@' to indicate that the value is a file path to load the rules from. '-' may also be given to indicate that the rules are available on stdin"),
  "no-merge": boolFlag("Do not merge the current policy information with what is provided to the command. Instead overwrite all fields with the exception of the policy ID which is immutable."),
  ...ACL_HTTP_FLAGS,
} as const;

const UPDATE_HELP = `
Usage: consulate acl policy update [options]

    Updates a policy. By default it will merge the policy information with its
    current state so that you do not have to provide all parameters. This
    behavior can be disabled by passing -no-merge.

    Rename the Policy:

        $ consulate acl policy update -id abcd -name "better-name"

    Update all editable fields of the policy:

        $ consulate acl policy update -id abcd \\
                                      -name "better-name" \\
                                      -rules "node_prefix \\"\\" { policy = \\"read\\" }" \\
                                      -valid-datacenter "dc1" \\
                                      -valid-datacenter "dc2" \\
                                      -description "Modified policy"
`;

async function runUpdate(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(UPDATE_FLAGS, UPDATE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const f = parsed.values;
  if (f.id === "") {
    printLine(io.stderr, "Cannot update a policy without specifying the -id parameter");
    return 1;
  }
  const format = formatOrReport(f.format, io);
  if (!format) return 1;
  let rules: string;
  try {
    rules = await loadDataSource(f.rules, io);
  } catch (err) {
    printLine(io.stderr, `Error loading rules: ${errorMessage(err)}`);
    return 1;
  }
  const client = await connectOrReport(f, io);
  if (!client) return 1;
  let id: string;
  try {
    id = await idFromPartial(client, "policy", f.id);
  } catch (err) {
    printLine(io.stderr, `Error determining policy ID: ${errorMessage(err)}`);
    return 1;
  }
  let policy: Json;
  if (f["no-merge"]) {
    policy = { ID: id, Name: f.name, Description: f.description, Datacenters: f["valid-datacenter"], Rules: rules };
  } else {
    let current: Json | undefined;
    try {
      current = await readObject(client, `/v1/acl/policy/${escapePath(id)}`);
      if (!current) throw new Error(`Policy not found with ID ${JSON.stringify(id)}`);
    } catch (err) {
      printLine(io.stderr, `Error retrieving current policy: ${errorMessage(err)}`);
      return 1;
    }
    policy = { ...current };
    if (f.name !== "") policy.Name = f.name;
    if (f.description !== "") policy.Description = f.description;
    if (f["valid-datacenter"].length > 0) policy.Datacenters = f["valid-datacenter"];
    if (f.rules !== "") policy.Rules = rules;
  }
  return putAndPrint(io, client, `/v1/acl/policy/${escapePath(id)}`, policy, `Error updating policy ${JSON.stringify(id)}`, (saved) => formatPolicy(saved, format, f.meta));
}

// delete

const DELETE_FLAGS = deleteFlags("policy");

const DELETE_HELP = `
Usage: consulate acl policy delete [options] -id POLICY

    Deletes an ACL policy by providing either the ID or a unique ID prefix.

    Delete by prefix:

        $ consulate acl policy delete -id b6b85

    Delete by full ID:

        $ consulate acl policy delete -id b6b856da-5193-4e78-845a-7d61ca8371ba

    Delete by name:

        $ consulate acl policy delete -name my-policy
`;

const runDelete = runDeleteNamed("policy", DELETE_HELP);

// list

const LIST_HELP = `
Usage: consulate acl policy list [options]

    Lists all the ACL policies.

    Example:

        $ consulate acl policy list
`;

const runList = runListNamed("policy", LIST_HELP, formatPolicyList);

export const aclPolicyCommands: Readonly<Record<string, CommandDefinition>> = {
  "acl policy": {
    synopsis: "Manage Consul's ACL policies",
    help: () => "Usage: consulate acl policy <subcommand> [options] [args]\n\n  This command has subcommands for managing Consul's ACL policies.",
  },
  "acl policy create": { synopsis: "Create an ACL policy", help: helpFor(CREATE_HELP, CREATE_FLAGS), run: runCreate },
  "acl policy read": { synopsis: "Read an ACL policy", help: helpFor(READ_HELP, READ_FLAGS), run: runRead },
  "acl policy update": { synopsis: "Update an ACL policy", help: helpFor(UPDATE_HELP, UPDATE_FLAGS), run: runUpdate },
  "acl policy delete": { synopsis: "Delete an ACL policy", help: helpFor(DELETE_HELP, DELETE_FLAGS), run: runDelete },
  "acl policy list": { synopsis: "Lists ACL policies", help: helpFor(LIST_HELP, LIST_FLAGS), run: runList },
};
