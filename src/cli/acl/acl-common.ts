// What every `acl` subcommand shares: the output flags, `@file`/`-` data arguments, ID
// prefixes resolved through the list endpoints, the link and identity arguments of roles and
// tokens (and how an update merges them), and the JSON calls
// (a 404 on a read is "not found", as consul's api package treats it).
import { readFile } from "node:fs/promises";
import type { CommandIO } from "../command-io.ts";
import { printLine, readAll } from "../command-io.ts";
import { boolFlag, repeatableFlag, stringFlag } from "../go-flags.ts";
import { errorMessage, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, parseJSONBody, UnexpectedStatusError, type ConsulHttpClient } from "../http-client.ts";
import { outputFormat, type OutputFormat } from "./acl-format.ts";

export type Json = Record<string, unknown>;

export const OUTPUT_FLAGS = {
  meta: boolFlag("Indicates that ACL metadata such as the content hash and raft indices should be shown for each entry"),
  format: stringFlag("Output format {pretty|json}", "pretty"),
} as const;

export const ACL_HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;

/** The -format value, or undefined after printing consul's error. */
export function formatOrReport(text: string, io: CommandIO): OutputFormat | undefined {
  const format = outputFormat(text);
  if (typeof format === "string") return format;
  printLine(io.stderr, format.error);
  return undefined;
}

/** consul's helpers.LoadDataSource: `@path` reads the file, `-` reads stdin, else the literal. */
export async function loadDataSource(data: string, io: CommandIO): Promise<string> {
  if (data.startsWith("@")) {
    const path = data.slice(1);
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`Failed to read file: open ${path}: ${code === "ENOENT" ? "no such file or directory" : errorMessage(err)}`, { cause: err });
    }
  }
  if (data === "-") return (await readAll(io.stdin)).toString("utf8");
  return data;
}

/** A read that answers undefined on 404, like the api package's ACL reads. */
export async function readObject(client: ConsulHttpClient, path: string, query?: Record<string, string>): Promise<Json | undefined> {
  const response = await client.send({ method: "GET", path, query, read: true });
  if (response.statusCode === 404) return undefined;
  if (response.statusCode !== 200) throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
  return parseJSONBody(response.body) as Json;
}

export async function putJSON(client: ConsulHttpClient, path: string, body: unknown): Promise<Json> {
  const response = await client.sendOK({ method: "PUT", path, body: body === undefined ? undefined : JSON.stringify(body) });
  return parseJSONBody(response.body) as Json;
}

export async function deleteObject(client: ConsulHttpClient, path: string): Promise<void> {
  await client.sendOK({ method: "DELETE", path });
}

export async function listObjects(client: ConsulHttpClient, path: string, query?: Record<string, string>): Promise<Json[]> {
  const value = await client.getJSON(path, query);
  return Array.isArray(value) ? (value as Json[]) : [];
}

/** consul's Get<Kind>IDFromPartial: a full UUID is taken as is, else a unique prefix of one listed ID. */
export async function idFromPartial(client: ConsulHttpClient, kind: "token" | "policy" | "role", partial: string): Promise<string> {
  if (partial.length === 36) return partial;
  const path = kind === "token" ? "/v1/acl/tokens" : kind === "policy" ? "/v1/acl/policies" : "/v1/acl/roles";
  const field = kind === "token" ? "AccessorID" : "ID";
  let found = "";
  for (const entry of await listObjects(client, path)) {
    const id = typeof entry[field] === "string" ? entry[field] : "";
    if (!id.startsWith(partial)) continue;
    if (found !== "") throw new Error(`Partial ${kind} ID is not unique`);
    found = id;
  }
  if (found === "") throw new Error(`No such ${kind} ID with prefix: ${partial}`);
  return found;
}

/** `-service-identity NAME[:DC1,DC2]` */
export function serviceIdentities(values: readonly string[]): Json[] {
  return values.map((raw) => {
    const parts = raw.split(":");
    if (parts.length === 1) return { ServiceName: parts[0] };
    if (parts.length === 2) return { ServiceName: parts[0], Datacenters: parts[1].split(",") };
    throw new Error(`Malformed -service-identity argument: ${JSON.stringify(raw)}`);
  });
}

/** `-node-identity NODE:DC` */
export function nodeIdentities(values: readonly string[]): Json[] {
  return values.map((raw) => {
    const parts = raw.split(":");
    if (parts.length !== 2) throw new Error(`Malformed -node-identity argument: ${JSON.stringify(raw)}`);
    return { NodeName: parts[0], Datacenter: parts[1] };
  });
}

/**
 * The flags that link a role or token to policies and identities (tokens also take roles),
 * worded for `owner` as consul's are.
 */
export function linkFlags(owner: "role" | "token") {
  return {
    "policy-id": repeatableFlag(`ID of a policy to use for this ${owner}. May be specified multiple times`),
    "policy-name": repeatableFlag(`Name of a policy to use for this ${owner}. May be specified multiple times`),
    "service-identity": repeatableFlag(`Name of a service identity to use for this ${owner}. May be specified multiple times. Format is the SERVICENAME or SERVICENAME:DATACENTER1,DATACENTER2,...`),
    "node-identity": repeatableFlag(`Name of a node identity to use for this ${owner}. May be specified multiple times. Format is NODENAME:DATACENTER`),
  } as const;
}

/** Links to policies or roles: by name as given, by ID from a unique prefix (consul's "Error resolving … ID"). */
export async function objectLinks(client: ConsulHttpClient, kind: "policy" | "role", names: readonly string[], ids: readonly string[]): Promise<Json[]> {
  const links: Json[] = names.map((Name) => ({ Name }));
  for (const partial of ids) {
    try {
      links.push({ ID: await idFromPartial(client, kind, partial) });
    } catch (err) {
      throw new Error(`Error resolving ${kind} ID ${partial}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return links;
}

/** A list field of a fetched object (absent or null: empty). */
export function listField(value: unknown): Json[] {
  return Array.isArray(value) ? (value as Json[]) : [];
}

/** Service identities merged as consul's update does: one per service name, the new one replacing the old. */
export function mergeServiceIdentities(current: unknown, added: readonly Json[]): Json[] {
  const merged = listField(current);
  for (const id of added) {
    const at = merged.findIndex((e) => e.ServiceName === id.ServiceName);
    if (at === -1) merged.push(id);
    else merged[at] = id;
  }
  return merged;
}

/** Node identities merged as consul's update does: a node and datacenter pair appears once. */
export function mergeNodeIdentities(current: unknown, added: readonly Json[]): Json[] {
  const merged = listField(current);
  for (const id of added) if (!merged.some((e) => e.NodeName === id.NodeName && e.Datacenter === id.Datacenter)) merged.push(id);
  return merged;
}

/**
 * The last step of every create and update: PUT the object, print it in the chosen format
 * (0), or print `failure: <error>` (1).
 */
export async function putAndPrint(io: CommandIO, client: ConsulHttpClient, path: string, body: Json, failure: string, render: (saved: Json) => string): Promise<number> {
  let saved: Json;
  try {
    saved = await putJSON(client, path, body);
  } catch (err) {
    printLine(io.stderr, `${failure}: ${errorMessage(err)}`);
    return 1;
  }
  printOutput(io, render(saved));
  return 0;
}

/** Prints a formatted object as consul's Ui.Info does (one trailing newline added). */
export function printOutput(io: CommandIO, text: string): void {
  if (text !== "") printLine(io.stdout, text);
}
