// What `acl policy` and `acl role` share: both are named objects found by ID prefix or exact
// name, deleted and listed the same way, with Consul's messages differing only in the noun.
import { parseCommandLine } from "../command-definition.ts";
import type { CommandIO } from "../command-io.ts";
import { printLine } from "../command-io.ts";
import { stringFlag } from "../go-flags.ts";
import { connectOrReport, errorMessage, escapePath, type ConsulHttpClient } from "../http-client.ts";
import { ACL_HTTP_FLAGS, deleteObject, formatOrReport, idFromPartial, listObjects, OUTPUT_FLAGS, printOutput, type Json } from "./acl-common.ts";
import type { OutputFormat } from "./acl-format.ts";

export type NamedAclKind = "policy" | "role";

const PATHS: Record<NamedAclKind, { item: string; list: string; title: string }> = {
  policy: { item: "/v1/acl/policy/", list: "/v1/acl/policies", title: "Policy" },
  role: { item: "/v1/acl/role/", list: "/v1/acl/roles", title: "Role" },
};

/** -id (a unique ID prefix) and -name, as every read/update/delete of the kind takes them. */
export function idFlags(kind: NamedAclKind) {
  return {
    id: stringFlag(`The ID of the ${kind}. It may be specified as a unique ID prefix but will error if the prefix matches multiple ${kind} IDs`),
    name: stringFlag(`The name of the ${kind}.`),
  } as const;
}

/** The object's ID from -id (a unique prefix) or -name (an exact name, through the list). */
async function namedObjectId(client: ConsulHttpClient, kind: NamedAclKind, id: string, name: string): Promise<string> {
  if (id !== "") return idFromPartial(client, kind, id);
  if (name === "") throw new Error("No name specified");
  for (const o of await listObjects(client, PATHS[kind].list)) if (o.Name === name) return String(o.ID);
  throw new Error(`No such ${kind} with name ${name}`);
}

export function deleteFlags(kind: NamedAclKind) {
  return { ...idFlags(kind), ...ACL_HTTP_FLAGS } as const;
}

export function runDeleteNamed(kind: NamedAclKind, help: string): (args: string[], io: CommandIO) => Promise<number> {
  const flags = deleteFlags(kind);
  return async (args, io) => {
    const parsed = parseCommandLine(flags, help, args, io);
    if (typeof parsed === "number") return parsed;
    const f = parsed.values;
    if (f.id === "" && f.name === "") {
      printLine(io.stderr, "Must specify either the -id or -name parameters");
      return 1;
    }
    const client = await connectOrReport(f, io);
    if (!client) return 1;
    let id: string;
    try {
      id = await namedObjectId(client, kind, f.id, f.name);
    } catch (err) {
      printLine(io.stderr, `Error determining ${kind} ID: ${errorMessage(err)}`);
      return 1;
    }
    try {
      await deleteObject(client, `${PATHS[kind].item}${escapePath(id)}`);
    } catch (err) {
      printLine(io.stderr, `Error deleting ${kind} ${JSON.stringify(id)}: ${errorMessage(err)}`);
      return 1;
    }
    printLine(io.stdout, `${PATHS[kind].title} ${JSON.stringify(id)} deleted successfully`);
    return 0;
  };
}

export const LIST_FLAGS = { ...OUTPUT_FLAGS, ...ACL_HTTP_FLAGS } as const;

export function runListNamed(
  kind: NamedAclKind,
  help: string,
  formatList: (objects: Json[], format: OutputFormat, showMeta: boolean) => string,
): (args: string[], io: CommandIO) => Promise<number> {
  return async (args, io) => {
    const parsed = parseCommandLine(LIST_FLAGS, help, args, io);
    if (typeof parsed === "number") return parsed;
    const f = parsed.values;
    const format = formatOrReport(f.format, io);
    if (!format) return 1;
    const client = await connectOrReport(f, io);
    if (!client) return 1;
    let objects: Json[];
    try {
      objects = await listObjects(client, PATHS[kind].list);
    } catch (err) {
      printLine(io.stderr, `Failed to retrieve the ${kind} list: ${errorMessage(err)}`);
      return 1;
    }
    printOutput(io, formatList(objects, format, f.meta));
    return 0;
  };
}
