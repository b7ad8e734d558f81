// `consul snapshot save|restore|inspect` (spec/operator-snapshot-query.md §4). Archives are
// streamed between the file and the agent, never held whole: save pipes the answer into a file
// beside FILE, verifies it from disk and renames it into place, as consul's command does.
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { readSnapshotArchiveStream, verifySnapshotArchiveStream, type SnapshotContents, type SnapshotMeta } from "../storage/snapshot-archive.ts";
import { snapshotRecords, type SnapshotRecord } from "../state/snapshot-inventory.ts";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, intFlag, stringFlag } from "./go-flags.ts";
import { connectOrReport, errorMessage, HTTP_CLIENT_FLAGS, HTTP_SERVER_FLAGS, ResponseSinkError, type ConsulHttpClient } from "./http-client.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS } as const;

const SNAPSHOT_HELP = `
Usage: consulate snapshot <subcommand> [options] [args]

  This command has subcommands for saving, restoring, and inspecting the state
  of the Consul servers for disaster recovery. These are atomic, point-in-time
  snapshots which include key/value entries, service catalog, prepared queries,
  sessions, and ACLs.

  Create a snapshot:

      $ consulate snapshot save backup.snap

  Restore a snapshot:

      $ consulate snapshot restore backup.snap

  Inspect a snapshot:

      $ consulate snapshot inspect backup.snap

  For more examples, ask for subcommand help or view the documentation.
`;

const SAVE_HELP = `
Usage: consulate snapshot save [options] FILE

  Retrieves an atomic, point-in-time snapshot of the state of the Consul servers
  which includes key/value entries, service catalog, prepared queries, sessions,
  and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.
`;

const RESTORE_HELP = `
Usage: consulate snapshot restore [options] FILE

  Restores an atomic, point-in-time snapshot of the state of the Consul servers
  which includes key/value entries, service catalog, prepared queries, sessions,
  and ACLs.

  Restores involve a potentially dangerous low-level Raft operation that is not
  designed to handle server failures during a restore. This command is primarily
  intended to be used when recovering from a disaster, restoring into a fresh
  cluster of Consul servers.
`;

const INSPECT_HELP = `
Usage: consulate snapshot inspect [options] FILE

  Displays information about a snapshot file on disk.
`;

const INSPECT_FLAGS = {
  kvdetails: boolFlag("Provides a detailed KV space usage breakdown for any KV data that's been stored."),
  kvdepth: intFlag("Can only be used with -kvdetails. The key prefix depth used to breakdown KV store data. Defaults to 2.", 2),
  kvfilter: stringFlag("Can only be used with -kvdetails. Limits KV key breakdown using this prefix filter."),
  format: stringFlag("Output format {pretty|json}", "pretty"),
} as const;

/** The one FILE argument every snapshot subcommand takes, or the exit code after complaining. */
function fileArgument(args: readonly string[], io: CommandIO): string | number {
  if (args.length === 0) {
    printLine(io.stderr, "Missing FILE argument");
    return 1;
  }
  if (args.length > 1) {
    printLine(io.stderr, `Too many arguments (expected 1, got ${args.length})`);
    return 1;
  }
  return args[0];
}

async function runSave(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, SAVE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const file = fileArgument(parsed.args, io);
  if (typeof file === "number") return file;
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  // Written beside the target and renamed once verified, so FILE is never a partial snapshot.
  const unverified = `${file}.unverified`;
  try {
    return await saveVerified(client, file, unverified, io);
  } finally {
    await rm(unverified, { force: true });
  }
}

async function saveVerified(client: ConsulHttpClient, file: string, unverified: string, io: CommandIO): Promise<number> {
  let out: FileHandle;
  try {
    out = await open(unverified, "w", 0o600);
  } catch (err) {
    printLine(io.stderr, `Error writing unverified snapshot file: ${errorMessage(err)}`);
    return 1;
  }
  // The stream owns the handle from here: it syncs (flush) and closes it when done or destroyed.
  const sink = out.createWriteStream({ flush: true });
  let index: string;
  try {
    const res = await client.sendOK({ method: "GET", path: "/v1/snapshot", read: true, responseSink: sink });
    const header = res.headers["x-consul-index"];
    index = Array.isArray(header) ? (header[0] ?? "0") : (header ?? "0");
  } catch (err) {
    sink.destroy();
    const writing = err instanceof ResponseSinkError;
    printLine(io.stderr, `${writing ? "Error writing unverified snapshot file" : "Error saving snapshot"}: ${errorMessage(err)}`);
    return 1;
  }
  let check: FileHandle;
  try {
    check = await open(unverified, "r");
  } catch (err) {
    printLine(io.stderr, `Error opening snapshot file for verify: ${errorMessage(err)}`);
    return 1;
  }
  const verifying = check.createReadStream();
  try {
    await verifySnapshotArchiveStream(verifying);
  } catch (err) {
    printLine(io.stderr, `Error verifying snapshot file: ${errorMessage(err)}`);
    return 1;
  } finally {
    verifying.destroy();
  }
  try {
    await rename(unverified, file);
  } catch (err) {
    printLine(io.stderr, `Error renaming ${JSON.stringify(unverified)} to ${JSON.stringify(file)}: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Saved and verified snapshot to index ${index}`);
  return 0;
}

async function runRestore(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(HTTP_FLAGS, RESTORE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const file = fileArgument(parsed.args, io);
  if (typeof file === "number") return file;
  const client = await connectOrReport(parsed.values, io);
  if (!client) return 1;
  let input: FileHandle | undefined;
  let length: number;
  try {
    input = await open(file, "r");
    length = (await input.stat()).size;
  } catch (err) {
    await input?.close();
    printLine(io.stderr, `Error opening snapshot file: ${errorMessage(err)}`);
    return 1;
  }
  const source = input.createReadStream();
  try {
    await client.sendOK({ method: "PUT", path: "/v1/snapshot", bodyStream: { source, length } });
  } catch (err) {
    printLine(io.stderr, `Error restoring snapshot: ${errorMessage(err)}`);
    return 1;
  } finally {
    source.destroy();
  }
  printLine(io.stdout, "Restored snapshot");
  return 0;
}

async function runInspect(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(INSPECT_FLAGS, INSPECT_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const file = fileArgument(parsed.args, io);
  if (typeof file === "number") return file;
  if (parsed.values.format !== "pretty" && parsed.values.format !== "json") {
    printLine(io.stderr, `Unknown format: ${parsed.values.format}`);
    return 1;
  }
  let input: FileHandle;
  try {
    input = await open(file, "r");
  } catch (err) {
    printLine(io.stderr, `Error opening snapshot file: ${errorMessage(err)}`);
    return 1;
  }
  const source = input.createReadStream();
  let contents: SnapshotContents;
  let records: SnapshotRecord[];
  try {
    contents = await readSnapshotArchiveStream(source, { maxArchiveBytes: Number.POSITIVE_INFINITY, maxStateBytes: Number.POSITIVE_INFINITY });
    records = snapshotRecords(contents.state);
  } catch (err) {
    printLine(io.stderr, `Error extracting snapshot data: ${errorMessage(err)}`);
    return 1;
  } finally {
    source.destroy();
  }
  const { meta } = contents;
  const stats = inventoryStats(records, { kvDepth: parsed.values.kvdepth, kvFilter: parsed.values.kvfilter });
  if (parsed.values.format === "json") {
    // Go's json.MarshalIndent(info, "", "   ") of consul's OutputFormat.
    const out = { Meta: { ID: meta.ID, Size: meta.Size, Index: meta.Index, Term: meta.Term, Version: meta.Version }, Stats: stats.byType, TotalSize: stats.totalSize };
    printLine(io.stdout, JSON.stringify(out, null, "   "));
    return 0;
  }
  printLine(io.stdout, formatInspect(meta, stats, parsed.values.kvdetails));
  return 0;
}

export interface TypeStats {
  Name: string;
  Sum: number;
  Count: number;
}

export interface InventoryStats {
  byType: TypeStats[];
  totalSize: number;
  byKeyPrefix: TypeStats[];
  totalSizeKv: number;
}

/** Largest first, then by name (consul's sortTypeStats). */
function sortStats(stats: Iterable<TypeStats>): TypeStats[] {
  return [...stats].sort((a, b) => (a.Sum === b.Sum ? (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0) : b.Sum - a.Sum));
}

/** Per record type, and for -kvdetails per key prefix of `kvDepth` segments (keys under `kvFilter` only). */
export function inventoryStats(records: readonly SnapshotRecord[], kv: { kvDepth: number; kvFilter: string }): InventoryStats {
  const byType = new Map<string, TypeStats>();
  const byPrefix = new Map<string, TypeStats>();
  let totalSize = 0;
  let totalSizeKv = 0;
  const add = (map: Map<string, TypeStats>, name: string, size: number): void => {
    const s = map.get(name) ?? { Name: name, Sum: 0, Count: 0 };
    s.Sum += size;
    s.Count++;
    map.set(name, s);
  };
  for (const r of records) {
    add(byType, r.type, r.size);
    totalSize += r.size;
    if (r.key === undefined || (kv.kvFilter !== "" && !r.key.startsWith(kv.kvFilter))) continue;
    const split = r.key.split("/");
    add(byPrefix, split.slice(0, Math.min(kv.kvDepth, split.length)).join("/"), r.size);
    totalSizeKv += r.size;
  }
  return { byType: sortStats(byType.values()), totalSize, byKeyPrefix: sortStats(byPrefix.values()), totalSizeKv };
}

/** consul's ByteSize: one decimal, ".0" dropped, binary units; 0 is "0". */
export function byteSize(bytes: number): string {
  const units: [number, string][] = [
    [2 ** 40, "TB"],
    [2 ** 30, "GB"],
    [2 ** 20, "MB"],
    [2 ** 10, "KB"],
    [1, "B"],
  ];
  if (bytes === 0) return "0";
  const [div, unit] = units.find(([d]) => bytes >= d) ?? [1, "B"];
  return `${(bytes / div).toFixed(1).replace(/\.0$/, "")}${unit}`;
}

/** One text/tabwriter column block whose rows end in a tab: every cell padded to max(minwidth, widest + padding). */
function tabBlock(rows: readonly (readonly string[])[], minwidth: number, padding: number): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(Math.max(minwidth, (widths[i] ?? 0) + padding))).join(""));
}

function statsTable(header: string, stats: readonly TypeStats[], total: number, minwidth: number, padding: number): string[] {
  const dashes = [" ----", "----", "----"];
  return tabBlock(
    [[` ${header}`, "Count", "Size"], dashes, ...stats.map((s) => [` ${s.Name}`, String(s.Count), byteSize(s.Sum)]), dashes, [" Total", "", byteSize(total)]],
    minwidth,
    padding,
  );
}

/** consul's pretty formatter: the metadata, a blank line, the per-type table (and with -kvdetails the per-prefix one). */
export function formatInspect(meta: SnapshotMeta, stats: InventoryStats, kvDetails: boolean): string {
  const head = [
    [" ID", meta.ID],
    [" Size", String(meta.Size)],
    [" Index", String(meta.Index)],
    [" Term", String(meta.Term)],
    [" Version", String(meta.Version)],
  ];
  const headWidth = Math.max(8, ...head.map(([k]) => (k ?? "").length + 6));
  const lines = [...head.map(([k, v]) => `${(k ?? "").padEnd(headWidth)}${v ?? ""}`), "", ...statsTable("Type", stats.byType, stats.totalSize, 8, 6)];
  if (kvDetails) lines.push("", ...statsTable("Key Name", stats.byKeyPrefix, stats.totalSizeKv, 30, 12));
  return lines.join("\n");
}

export const snapshotCommands: Readonly<Record<string, CommandDefinition>> = {
  snapshot: { synopsis: "Saves, restores and inspects snapshots of Consul server state", help: helpFor(SNAPSHOT_HELP, undefined) },
  "snapshot save": { synopsis: "Saves snapshot of Consul server state", help: helpFor(SAVE_HELP, HTTP_FLAGS), run: runSave },
  "snapshot restore": { synopsis: "Restores snapshot of Consul server state", help: helpFor(RESTORE_HELP, HTTP_FLAGS), run: runRestore },
  "snapshot inspect": { synopsis: "Displays information about a Consul snapshot file", help: helpFor(INSPECT_HELP, INSPECT_FLAGS), run: runInspect },
};
