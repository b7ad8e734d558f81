// `consul catalog datacenters|nodes|services`: read-only views of the catalog.
import type { CommandDefinition, ParsedCommandLine } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { columnize, tabwriterAlign } from "./columns.ts";
import { boolFlag, mapFlag, stringFlag } from "./go-flags.ts";
import type { FlagTable } from "./go-flags.ts";
import type { ConsulHttpClient } from "./http-client.ts";
import { connectOrReport, errorMessage, escapePath, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, HTTP_TENANCY_FLAGS } from "./http-client.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;

function tooManyArguments(args: readonly string[], io: CommandIO): boolean {
  if (args.length === 0) return false;
  printLine(io.stderr, `Too many arguments (expected 0, got ${args.length})`);
  return true;
}

/**
 * Parses the command line (no positional arguments allowed), then connects; a number is the
 * exit code to return (help, bad flag or argument, no client).
 */
async function parseAndConnect<T extends FlagTable & typeof HTTP_FLAGS>(
  flags: T,
  help: string,
  args: string[],
  io: CommandIO,
): Promise<{ flags: ParsedCommandLine<T>["values"]; client: ConsulHttpClient } | number> {
  const parsed = parseCommandLine(flags, help, args, io);
  if (typeof parsed === "number") return parsed;
  if (tooManyArguments(parsed.args, io)) return 1;
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;
  return { flags: parsed.values, client };
}

/** The api package sends `-node-meta k=v` as repeated `node-meta=k:v`. */
function nodeMetaQuery(meta: Record<string, string>): string[] | undefined {
  const pairs = Object.entries(meta).map(([k, v]) => `${k}:${v}`);
  return pairs.length > 0 ? pairs : undefined;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function asStringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(value))) out[k] = String(v);
  return out;
}

// ---- catalog datacenters ------------------------------------------------------------------

const DC_FLAGS = { ...HTTP_FLAGS } as const;
const DC_HELP = `
Usage: consulate catalog datacenters [options]

  Retrieves the list of all known datacenters. This datacenters are sorted in
  ascending order based on the estimated median round trip time from the servers
  in this datacenter to the servers in the other datacenters.

      $ consulate catalog datacenters
`;

async function runDatacenters(args: string[], io: CommandIO): Promise<number> {
  const invocation = await parseAndConnect(DC_FLAGS, DC_HELP, args, io);
  if (typeof invocation === "number") return invocation;
  const { client } = invocation;
  try {
    const body = await client.getJSON("/v1/catalog/datacenters");
    for (const dc of Array.isArray(body) ? body : []) printLine(io.stdout, String(dc));
    return 0;
  } catch (err) {
    printLine(io.stderr, `Error listing datacenters: ${errorMessage(err)}`);
    return 1;
  }
}

// ---- catalog nodes ------------------------------------------------------------------------

const NODES_FLAGS = {
  detailed: boolFlag("Output detailed information about the nodes including their addresses and metadata."),
  near: stringFlag(
    'Node name to sort the node list in ascending order based on estimated round-trip time from that node. Passing "_agent" will use this agent\'s node for sorting.',
  ),
  "node-meta": mapFlag(
    "Metadata to filter nodes with the given key=value pairs. This flag may be specified multiple times to filter on multiple sources of metadata.",
    "key=value",
  ),
  service: stringFlag(
    "Service id or name to filter nodes. Only nodes which are providing the given service will be returned.",
    "",
    "id or name",
  ),
  filter: stringFlag("Filter to use with the request", "", "string"),
  ...HTTP_FLAGS,
} as const;

const NODES_HELP = `
Usage: consulate catalog nodes [options]

  Retrieves the list nodes registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

      $ consulate catalog nodes
      $ consulate catalog nodes -detailed
      $ consulate catalog nodes -service=web
      $ consulate catalog nodes -node-meta="foo=bar"
      $ consulate catalog nodes -near=node-web
`;

export interface NodeRow {
  Node: string;
  ID: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

/** `k=v` pairs sorted by key, joined with ", " as mapToKV does. */
function mapToKV(map: Record<string, string>): string {
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${map[k]}`)
    .join(", ");
}

export function formatNodes(nodes: readonly NodeRow[], detailed: boolean): string {
  const delim = "\x1f";
  const lines = [detailed ? ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"].join(delim) : ["Node", "ID", "Address", "DC"].join(delim)];
  for (const node of nodes) {
    if (detailed) {
      lines.push(
        [node.Node, node.ID, node.Address, node.Datacenter, mapToKV(node.TaggedAddresses), mapToKV(node.Meta)].join(delim),
      );
    } else {
      // The short form keeps the ID up to its first dash.
      const dash = node.ID.indexOf("-");
      const id = dash > 0 ? node.ID.slice(0, dash) : node.ID;
      lines.push([node.Node, id, node.Address, node.Datacenter].join(delim));
    }
  }
  return columnize(lines, delim);
}

async function runNodes(args: string[], io: CommandIO): Promise<number> {
  const invocation = await parseAndConnect(NODES_FLAGS, NODES_HELP, args, io);
  if (typeof invocation === "number") return invocation;
  const { flags, client } = invocation;

  const query = {
    near: flags.near === "" ? undefined : flags.near,
    "node-meta": nodeMetaQuery(flags["node-meta"]),
    filter: flags.filter === "" ? undefined : flags.filter,
  };
  // A service's listing carries the node's metadata as NodeMeta, the node listing as Meta.
  const byService = flags.service !== "";
  let nodes: NodeRow[];
  try {
    const body = byService
      ? await client.getJSON(`/v1/catalog/service/${escapePath(flags.service)}`, query)
      : await client.getJSON("/v1/catalog/nodes", query);
    nodes = (Array.isArray(body) ? body : []).map((raw) => {
      const entry = asRecord(raw);
      return {
        Node: String(entry.Node ?? ""),
        ID: String(entry.ID ?? ""),
        Address: String(entry.Address ?? ""),
        Datacenter: String(entry.Datacenter ?? ""),
        TaggedAddresses: asStringMap(entry.TaggedAddresses),
        Meta: asStringMap(byService ? entry.NodeMeta : entry.Meta),
      };
    });
  } catch (err) {
    printLine(io.stderr, `${byService ? "Error listing nodes for service" : "Error listing nodes"}: ${errorMessage(err)}`);
    return 1;
  }
  if (nodes.length === 0) {
    printLine(io.stderr, "No nodes match the given query - try expanding your search.");
    return 0;
  }
  printLine(io.stdout, formatNodes(nodes, flags.detailed));
  return 0;
}

// ---- catalog services ---------------------------------------------------------------------

const SERVICES_FLAGS = {
  node: stringFlag("Node id or name for which to list services.", "", "id or name"),
  "node-meta": mapFlag(
    "Metadata to filter nodes with the given key=value pairs. If specified, only services running on nodes matching the given metadata will be returned. This flag may be specified multiple times to filter on multiple sources of metadata.",
    "key=value",
  ),
  tags: boolFlag("Display each service's tags as a comma-separated list beside each service entry."),
  ...HTTP_FLAGS,
  ...HTTP_TENANCY_FLAGS,
} as const;

const SERVICES_HELP = `
Usage: consulate catalog services [options]

  Retrieves the list services registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

      $ consulate catalog services
      $ consulate catalog services -tags
      $ consulate catalog services -node=web
      $ consulate catalog services -node-meta="foo=bar"
`;

/** Sorted names, or with `-tags` a tabwriter table of name and sorted comma-joined tags. */
export function formatServices(services: ReadonlyMap<string, readonly string[]>, withTags: boolean): string[] {
  const names = [...services.keys()].sort();
  if (!withTags) return names;
  const rows = names.map((name) => [name, [...(services.get(name) ?? [])].sort().join(",")]);
  return [tabwriterAlign(rows).join("\n").trim()];
}

async function runServices(args: string[], io: CommandIO): Promise<number> {
  const invocation = await parseAndConnect(SERVICES_FLAGS, SERVICES_HELP, args, io);
  if (typeof invocation === "number") return invocation;
  const { flags, client } = invocation;

  const query = { "node-meta": nodeMetaQuery(flags["node-meta"]) };
  const services = new Map<string, string[]>();
  if (flags.node !== "") {
    try {
      const body = asRecord(await client.getJSON(`/v1/catalog/node/${escapePath(flags.node)}`, query));
      for (const raw of Object.values(asRecord(body.Services))) {
        const service = asRecord(raw);
        const name = String(service.Service ?? "");
        const tags = Array.isArray(service.Tags) ? service.Tags.map(String) : [];
        services.set(name, [...(services.get(name) ?? []), ...tags]);
      }
    } catch (err) {
      printLine(io.stderr, `Error listing services for node: ${errorMessage(err)}`);
      return 1;
    }
  } else {
    try {
      const body = asRecord(await client.getJSON("/v1/catalog/services", query));
      for (const [name, tags] of Object.entries(body)) services.set(name, Array.isArray(tags) ? tags.map(String) : []);
    } catch (err) {
      printLine(io.stderr, `Error listing services: ${errorMessage(err)}`);
      return 1;
    }
  }
  if (services.size === 0) {
    printLine(io.stderr, "No services match the given query - try expanding your search.");
    return 0;
  }
  for (const line of formatServices(services, flags.tags)) printLine(io.stdout, line);
  return 0;
}

const CATALOG_HELP = `
Usage: consulate catalog <subcommand> [options] [args]

  This command has subcommands for interacting with Consul's catalog. The
  catalog should not be confused with the agent, although the APIs and
  responses may be similar.

  List all datacenters:

      $ consulate catalog datacenters

  List all nodes:

      $ consulate catalog nodes

  List all services:

      $ consulate catalog services

  For more examples, ask for subcommand help or view the documentation.
`;

export const catalogCommands: Readonly<Record<string, CommandDefinition>> = {
  catalog: { synopsis: "Interact with the catalog", help: helpFor(CATALOG_HELP, undefined) },
  "catalog datacenters": { synopsis: "Lists all known datacenters", help: helpFor(DC_HELP, DC_FLAGS), run: runDatacenters },
  "catalog nodes": { synopsis: "Lists all nodes in the given datacenter", help: helpFor(NODES_HELP, NODES_FLAGS), run: runNodes },
  "catalog services": {
    synopsis: "Lists all registered services in a datacenter",
    help: helpFor(SERVICES_HELP, SERVICES_FLAGS),
    run: runServices,
  },
};
