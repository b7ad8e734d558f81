// `consul rtt [-wan] node1 [node2]`: the estimated round trip between two nodes from their
// network coordinates (LAN from the catalog, WAN from the servers' WAN pool).
import { estimatedRtt, isCompatible } from "../gossip/vivaldi.ts";
import type { Coordinate } from "../model/catalog.ts";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, type ConsulHttpClient } from "./http-client.ts";

const FLAGS = {
  wan: boolFlag("Use WAN coordinates instead of LAN coordinates."),
  ...HTTP_CLIENT_FLAGS,
} as const;

const HELP = `
Usage: consulate rtt [options] node1 [node2]

  Estimates the network round trip time between two nodes using Consul's network
  coordinates model of the cluster.

  At least one node name is required. If the second node name isn't given, it
  is set to the agent's node name. Note that these are node names as known to
  Consul as the "consul members" command would show, not IP addresses.

  By default, the two nodes are assumed to be nodes in the local datacenter
  and the LAN coordinates are used. If the -wan option is given, then the WAN
  coordinates are used, and the node names must be suffixed by a period and
  the datacenter (eg. "myserver.dc1").

  It is not possible to measure between LAN coordinates and WAN coordinates
  because they are maintained by independent Serf gossip areas, so they are
  not compatible.
`;

const help = helpFor(HELP, FLAGS);

interface Entry {
  Node: string;
  Segment?: string;
  Coord: Coordinate;
}

class RttError extends Error {}

async function agentSelf(client: ConsulHttpClient): Promise<{ NodeName: string; Datacenter: string }> {
  try {
    const self = (await client.getJSON("/v1/agent/self")) as { Config?: { NodeName?: string; Datacenter?: string } };
    return { NodeName: self.Config?.NodeName ?? "", Datacenter: self.Config?.Datacenter ?? "" };
  } catch (err) {
    throw new RttError(`Unable to look up agent info: ${errorMessage(err)}`);
  }
}

async function coordinates(client: ConsulHttpClient, path: string): Promise<unknown> {
  try {
    return await client.getJSON(path);
  } catch (err) {
    throw new RttError(`Error getting coordinates: ${errorMessage(err)}`);
  }
}

async function wanPair(client: ConsulHttpClient, nodes: string[]): Promise<[Coordinate, Coordinate]> {
  if (nodes.length < 2) {
    const self = await agentSelf(client);
    nodes.push(`${self.NodeName}.${self.Datacenter}`);
  }
  const parts = nodes.map((n) => n.split("."));
  if (parts.some((p) => p.length !== 2)) throw new RttError("Node names must be specified as <node name>.<datacenter> with -wan");
  const dcs = (await coordinates(client, "/v1/coordinate/datacenters")) as { Datacenter: string; AreaID: string; Coordinates: Entry[] | null }[];
  const find = (i: number): { coord: Coordinate; area: string }[] => {
    const [node, dc] = parts[i];
    const out: { coord: Coordinate; area: string }[] = [];
    for (const d of dcs ?? []) {
      if (d.Datacenter !== dc) continue;
      for (const e of d.Coordinates ?? []) if (e.Node.toLowerCase() === node.toLowerCase()) out.push({ coord: e.Coord, area: d.AreaID });
    }
    return out;
  };
  const a = find(0);
  if (a.length === 0) throw new RttError(`Could not find a coordinate for node "${nodes[0]}"`);
  const b = find(1);
  if (b.length === 0) throw new RttError(`Could not find a coordinate for node "${nodes[1]}"`);
  for (const x of a) for (const y of b) if (x.area === y.area) return [x.coord, y.coord];
  throw new RttError(`Nodes "${nodes[0]}" and "${nodes[1]}" are not in a common area`);
}

async function lanPair(client: ConsulHttpClient, nodes: string[]): Promise<[Coordinate, Coordinate]> {
  if (nodes.length < 2) nodes.push((await agentSelf(client)).NodeName);
  const entries = ((await coordinates(client, "/v1/coordinate/nodes")) as Entry[] | null) ?? [];
  const of = (name: string): Entry[] => entries.filter((e) => e.Node.toLowerCase() === name.toLowerCase());
  const a = of(nodes[0]);
  if (a.length === 0) throw new RttError(`Could not find a coordinate for node "${nodes[0]}"`);
  const b = of(nodes[1]);
  if (b.length === 0) throw new RttError(`Could not find a coordinate for node "${nodes[1]}"`);
  // Coordinates are only comparable within a network segment.
  for (const x of a) for (const y of b) if ((x.Segment ?? "") === (y.Segment ?? "")) return [x.Coord, y.Coord];
  throw new RttError(`Nodes "${nodes[0]}" and "${nodes[1]}" are not in a common segment`);
}

async function runRtt(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  const nodes = [...parsed.args];
  if (nodes.length < 1 || nodes.length > 2) {
    printLine(io.stderr, "One or two node names must be specified");
    printLine(io.stderr, "");
    printLine(io.stderr, help());
    return 1;
  }
  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  let pair: [Coordinate, Coordinate];
  try {
    pair = flags.wan ? await wanPair(client, nodes) : await lanPair(client, nodes);
  } catch (err) {
    printLine(io.stderr, err instanceof RttError ? err.message : errorMessage(err));
    return 1;
  }
  const [a, b] = pair;
  if (!isCompatible(a, b)) {
    printLine(io.stderr, "Coordinates are not compatible");
    return 1;
  }
  const ms = estimatedRtt(a, b) * 1000;
  printLine(io.stdout, `Estimated ${nodes[0]} <-> ${nodes[1]} rtt: ${ms.toFixed(3)} ms (using ${flags.wan ? "WAN" : "LAN"} coordinates)`);
  return 0;
}

export const rttCommand: CommandDefinition = {
  synopsis: "Estimates network round trip time between nodes",
  help,
  run: runRtt,
};
