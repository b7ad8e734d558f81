// `consul keyring -list | -list-primary | -install=KEY | -use=KEY | -remove=KEY`: gossip key
// rotation through /v1/operator/keyring, with consul's output (cli.md §11). Exit 1 when any
// node failed or did not answer (the endpoint then answers 500).
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, intFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, parseJSONBody, type ConsulHttpClient } from "./http-client.ts";

const FLAGS = {
  install: stringFlag("Install a new encryption key. This will broadcast the new key to all members in the cluster."),
  use: stringFlag("Change the primary encryption key, which is used to encrypt messages. The key must already be installed before this operation can succeed."),
  remove: stringFlag("Remove the given key from the cluster. This operation may only be performed on keys which are not currently the primary key."),
  list: boolFlag("List all keys currently in use within the cluster."),
  "list-primary": boolFlag("List all primary keys currently in use within the cluster."),
  "relay-factor": intFlag(
    "Setting this to a non-zero value will cause nodes to relay their response to the operation through this many randomly-chosen other nodes in the cluster. The maximum allowed value is 5.",
  ),
  "local-only": boolFlag("Setting this to true will force the keyring query to only hit local servers (no WAN traffic). This flag can only be set for list queries."),
  ...HTTP_CLIENT_FLAGS,
} as const;

const HELP = `
Usage: consulate keyring [options]

  Manages encryption keys used for gossip messages. Gossip encryption is
  optional. When enabled, this command may be used to examine active encryption
  keys in the cluster, add new keys, and remove old ones. When combined, this
  functionality provides the ability to perform key rotation cluster-wide,
  without disrupting the cluster.

  All operations performed by this command can only be run against server nodes,
  and affect both the LAN and WAN keyrings in lock-step.

  All variations of the keyring command return 0 if all nodes reply and there
  are no errors. If any node fails to reply or reports failure, the exit code
  will be 1.
`;

interface PoolListing {
  WAN?: unknown;
  Datacenter?: unknown;
  Segment?: unknown;
  Partition?: unknown;
  Messages?: unknown;
  Keys?: unknown;
  PrimaryKeys?: unknown;
  NumNodes?: unknown;
}

function entries(value: unknown): [string, unknown][] {
  return typeof value === "object" && value !== null ? Object.entries(value) : [];
}

/** consul's formatResponse: a blank line, the pool name, node messages, then `key [n/total]`. */
export function formatKeyringPool(pool: PoolListing, keys: unknown): string {
  const dc = typeof pool.Datacenter === "string" ? pool.Datacenter : "";
  let name = pool.WAN === true ? "WAN" : `${dc} (LAN)`;
  if (typeof pool.Segment === "string" && pool.Segment !== "") name += ` [${pool.Segment}]`;
  else if (typeof pool.Partition === "string" && pool.Partition !== "" && pool.Partition !== "default") name += ` [partition: ${pool.Partition}]`;
  const total = typeof pool.NumNodes === "number" ? pool.NumNodes : 0;
  let out = `\n${name}:\n`;
  for (const [from, message] of entries(pool.Messages)) out += `  ===> ${from}: ${String(message)}\n`;
  for (const [key, count] of entries(keys)) out += `  ${key} [${String(count)}/${total}]\n`;
  return out.replace(/\n+$/, "");
}

async function list(client: ConsulHttpClient, io: CommandIO, primary: boolean, localOnly: boolean, relay: number): Promise<number> {
  printLine(io.stdout, primary ? "==> Gathering installed primary encryption keys..." : "==> Gathering installed encryption keys...");
  let pools: unknown;
  try {
    const response = await client.sendOK({
      method: "GET",
      path: "/v1/operator/keyring",
      query: { "relay-factor": relay > 0 ? String(relay) : undefined, "local-only": localOnly ? "true" : undefined },
    });
    pools = parseJSONBody(response.body);
  } catch (err) {
    printLine(io.stderr, `error: ${errorMessage(err)}`);
    return 1;
  }
  for (const pool of Array.isArray(pools) ? (pools as PoolListing[]) : []) {
    printLine(io.stdout, formatKeyringPool(pool, primary ? pool.PrimaryKeys : pool.Keys));
  }
  return 0;
}

async function change(client: ConsulHttpClient, io: CommandIO, method: "POST" | "PUT" | "DELETE", key: string, banner: string, relay: number): Promise<number> {
  printLine(io.stdout, `==> ${banner}`);
  try {
    await client.sendOK({ method, path: "/v1/operator/keyring", query: { "relay-factor": relay > 0 ? String(relay) : undefined }, body: JSON.stringify({ Key: key }) });
  } catch (err) {
    printLine(io.stderr, `error: ${errorMessage(err)}`);
    return 1;
  }
  return 0;
}

async function runKeyring(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  const actions = [flags.list, flags["list-primary"], flags.install !== "", flags.use !== "", flags.remove !== ""].filter(Boolean).length;
  if (actions === 0) {
    printLine(io.stderr, helpFor(HELP, FLAGS)());
    return 1;
  }
  if (actions > 1) {
    printLine(io.stderr, "Only a single action is allowed");
    return 1;
  }
  const relay = flags["relay-factor"];
  if (relay < 0 || relay > 5) {
    printLine(io.stderr, "Error parsing relay factor: Relay factor must be in range: [0, 5]");
    return 1;
  }
  if (flags["local-only"] && !flags.list) {
    printLine(io.stderr, "Error validating local-only: local-only can only be set for list requests");
    return 1;
  }
  const client = await connectOrReport(flags, io);
  if (!client) return 1;
  if (flags.list || flags["list-primary"]) return list(client, io, flags["list-primary"], flags["local-only"], relay);
  if (flags.install !== "") return change(client, io, "POST", flags.install, "Installing new gossip encryption key...", relay);
  if (flags.use !== "") return change(client, io, "PUT", flags.use, "Changing primary gossip encryption key...", relay);
  return change(client, io, "DELETE", flags.remove, "Removing gossip encryption key...", relay);
}

export const keyringCommand: CommandDefinition = {
  synopsis: "Manages gossip layer encryption keys",
  help: helpFor(HELP, FLAGS),
  run: runKeyring,
};
