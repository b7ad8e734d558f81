// `consul kv get|put|delete|export|import`: the key-value store from the command line, with
// consul's exact success and error lines since scripts grep for them.
import { readFile } from "node:fs/promises";
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine, readAll } from "./command-io.ts";
import { tabwriterAlign } from "./columns.ts";
import { boolFlag, stringFlag, uint64Flag, uintFlag } from "./go-flags.ts";
import {
  connectOrReport,
  errorMessage,
  escapePath,
  HTTP_CLIENT_FLAGS,
  HTTP_SERVER_FLAGS,
  HTTP_TENANCY_FLAGS,
  parseJSONBody,
  UnexpectedStatusError,
} from "./http-client.ts";
import type { KVEntry } from "./kv-entry.ts";
import { parseKVEntries } from "./kv-entry.ts";
import { parseJsonWithBigInts } from "../http/json.ts";

const HTTP_FLAGS = { ...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS, ...HTTP_TENANCY_FLAGS } as const;

/** A KV entry as the HTTP API returns it (Value is base64 or null). */
interface KVPair {
  Key: string;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Flags: number;
  Value: Buffer;
  Session: string;
}

function toPairs(body: unknown): KVPair[] {
  if (!Array.isArray(body)) return [];
  return body.map((raw: Record<string, unknown>) => ({
    Key: String(raw.Key ?? ""),
    CreateIndex: Number(raw.CreateIndex ?? 0),
    ModifyIndex: Number(raw.ModifyIndex ?? 0),
    LockIndex: Number(raw.LockIndex ?? 0),
    Flags: Number(raw.Flags ?? 0),
    Value: typeof raw.Value === "string" ? Buffer.from(raw.Value, "base64") : Buffer.alloc(0),
    Session: typeof raw.Session === "string" ? raw.Session : "",
  }));
}

/** Keys cannot start with "/", but users type "/foo"; consul strips one leading slash. */
function stripLeadingSlash(key: string): string {
  return key.startsWith("/") ? key.slice(1) : key;
}

/** base64.StdEncoding.DecodeString: strict alphabet and padding. */
export function decodeStrictBase64(text: string): Buffer {
  const cleaned = text.replace(/[\r\n]/g, "");
  const bad = /[^A-Za-z0-9+/=]/.exec(cleaned);
  if (bad) throw new Error(`illegal base64 data at input byte ${bad.index}`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(cleaned) || cleaned.length % 4 !== 0) {
    throw new Error(`illegal base64 data at input byte ${Math.max(0, cleaned.length - 1)}`);
  }
  return Buffer.from(cleaned, "base64");
}

/** The `-detailed` block: tabwriter with padding 6, `-` for no session, no trailing newline. */
export function formatDetailedPair(pair: KVPair, base64: boolean): string {
  return tabwriterAlign([
    ["CreateIndex", String(pair.CreateIndex)],
    ["Flags", String(pair.Flags)],
    ["Key", pair.Key],
    ["LockIndex", String(pair.LockIndex)],
    ["ModifyIndex", String(pair.ModifyIndex)],
    ["Session", pair.Session === "" ? "-" : pair.Session],
    ["Value", base64 ? pair.Value.toString("base64") : pair.Value.toString("utf8")],
  ]).join("\n");
}

// ---- kv get -------------------------------------------------------------------------------

const GET_FLAGS = {
  base64: boolFlag("Base64 encode the value. The default value is false."),
  detailed: boolFlag(
    "Provide additional metadata about the key in addition to the value such as the ModifyIndex and any flags that may have been set on the key. The default value is false.",
  ),
  keys: boolFlag(
    "List keys which start with the given prefix, but not their values. This is especially useful if you only need the key names themselves. This option is commonly combined with the -separator option. The default value is false.",
  ),
  recurse: boolFlag("Recursively look at all keys prefixed with the given path. The default value is false."),
  separator: stringFlag(
    'String to use as a separator between keys. The default value is "/", but this option is only taken into account when paired with the -keys flag.',
    "/",
  ),
  ...HTTP_FLAGS,
} as const;

const GET_HELP = `
Usage: consulate kv get [options] [KEY_OR_PREFIX]

  Retrieves the value from Consul's key-value store at the given key name. If no
  key exists with that name, an error is returned. If a key exists with that
  name but has no data, nothing is returned. If the name or prefix is omitted,
  it defaults to "" which is the root of the key-value store.

  To retrieve the value for the key named "foo" in the key-value store:

      $ consulate kv get foo

  To view detailed information about the key, specify the "-detailed" flag. To
  list all keys which start with a prefix, specify "-recurse"; to list just the
  key names, use "-keys".
`;

async function runGet(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(GET_FLAGS, GET_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  if (parsed.args.length > 1) {
    printLine(io.stderr, `Too many arguments (expected 1, got ${parsed.args.length})`);
    return 1;
  }
  const key = stripLeadingSlash(parsed.args[0] ?? "");
  if (key === "" && !(flags.recurse || flags.keys)) {
    printLine(io.stderr, "Error! Missing KEY argument");
    return 1;
  }
  const client = await connectOrReport(flags, io);
  if (client === undefined) return 1;
  const path = `/v1/kv/${escapePath(key)}`;

  try {
    if (flags.keys) {
      const body = await client.getJSON(path, { keys: "", separator: flags.separator === "" ? undefined : flags.separator }, true);
      for (const entry of Array.isArray(body) ? body : []) printLine(io.stdout, String(entry));
      return 0;
    }
    if (flags.recurse) {
      const pairs = toPairs(await client.getJSON(path, { recurse: "" }, true));
      pairs.forEach((pair, i) => {
        if (flags.detailed) {
          printLine(io.stdout, formatDetailedPair(pair, flags.base64));
          if (i < pairs.length - 1) printLine(io.stdout, "");
        } else {
          const value = flags.base64 ? pair.Value.toString("base64") : pair.Value.toString("utf8");
          printLine(io.stdout, `${pair.Key}:${value}`);
        }
      });
      return 0;
    }
    const pairs = toPairs(await client.getJSON(path, undefined, true));
    const pair = pairs[0];
    if (pair === undefined) {
      printLine(io.stderr, `Error! No key exists at: ${key}`);
      return 1;
    }
    if (flags.detailed) {
      printLine(io.stdout, formatDetailedPair(pair, flags.base64));
      return 0;
    }
    // Raw bytes: binary values must survive `kv get > file`.
    io.stdout.write(flags.base64 ? Buffer.from(pair.Value.toString("base64")) : pair.Value);
    io.stdout.write("\n");
    return 0;
  } catch (err) {
    printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    return 1;
  }
}

// ---- kv put -------------------------------------------------------------------------------

const PUT_FLAGS = {
  cas: boolFlag(
    "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false.",
  ),
  flags: uint64Flag(
    "Unsigned integer value to assign to this key-value pair. This value is not read by Consul, so clients can use this value however makes sense for their use case. The default value is 0 (no flags).",
  ),
  base64: boolFlag("Treat the data as base 64 encoded. The default value is false."),
  "modify-index": uintFlag(
    "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag.",
  ),
  session: stringFlag(
    "User-defined identifer for this session as a string. This is commonly used with the -acquire and -release operations to build robust locking, but it can be set on any key. The default value is empty (no session).",
  ),
  acquire: boolFlag(
    "Obtain a lock on the key. If the key does not exist, this operation will create the key and obtain the lock. The session must already exist and be specified via the -session flag. The default value is false.",
  ),
  release: boolFlag(
    "Forfeit the lock on the key at the given path. This requires the -session flag to be set. The key must be held by the session in order to be unlocked. The default value is false.",
  ),
  ...HTTP_FLAGS,
} as const;

const PUT_HELP = `
Usage: consulate kv put [options] KEY [DATA]

  Writes the data to the given path in the key-value store. The data can be of
  any type.

      $ consulate kv put config/redis/maxconns 5

  The data can also be consumed from a file on disk by prefixing with the "@"
  symbol, or read from stdin using the "-" symbol. The DATA argument itself is
  optional; if omitted, an empty key-value pair is created.

  If the -base64 flag is specified, the data will be treated as base 64
  encoded. To perform a Check-And-Set operation, specify the -cas flag with the
  appropriate -modify-index flag.
`;

/** `@file`, `-` for stdin, or the literal text; an empty DATA stays empty. */
async function dataArgument(data: string, io: CommandIO): Promise<Buffer> {
  if (data.startsWith("@")) {
    try {
      return await readFile(data.slice(1));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "no such file or directory" : errorMessage(err);
      throw new Error(`Failed to read file: open ${data.slice(1)}: ${reason}`, { cause: err });
    }
  }
  if (data === "-") {
    try {
      return await readAll(io.stdin);
    } catch (err) {
      throw new Error(`Failed to read stdin: ${errorMessage(err)}`, { cause: err });
    }
  }
  return Buffer.from(data);
}

async function runPut(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(PUT_FLAGS, PUT_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  const positional = parsed.args;
  if (positional.length === 0) {
    printLine(io.stderr, "Error! Missing KEY argument");
    return 1;
  }
  if (positional.length > 2) {
    printLine(io.stderr, `Error! Too many arguments (expected 1 or 2, got ${positional.length})`);
    return 1;
  }
  const key = positional[0];
  let value: Buffer;
  try {
    value = await dataArgument(positional[1] ?? "", io);
  } catch (err) {
    printLine(io.stderr, `Error! ${errorMessage(err)}`);
    return 1;
  }
  if (flags.base64) {
    try {
      value = decodeStrictBase64(value.toString("utf8"));
    } catch (err) {
      printLine(io.stderr, `Error! Cannot base 64 decode data: ${errorMessage(err)}`);
      return 1;
    }
  }
  if ((flags.release || flags.acquire) && flags.session === "") {
    printLine(io.stderr, "Error! Missing -session (required with -acquire and -release)");
    return 1;
  }
  if (flags.cas && flags["modify-index"] === 0) {
    printLine(io.stderr, "Must specify -modify-index with -cas!");
    return 1;
  }
  const client = await connectOrReport(flags, io);
  if (client === undefined) return 1;

  const query: Record<string, string | undefined> = {
    flags: flags.flags !== 0n ? flags.flags.toString() : undefined,
  };
  let mode: "cas" | "acquire" | "release" | "put" = "put";
  if (flags.cas) {
    mode = "cas";
    query.cas = String(flags["modify-index"]);
  } else if (flags.acquire) {
    mode = "acquire";
    query.acquire = flags.session;
  } else if (flags.release) {
    mode = "release";
    query.release = flags.session;
  }

  let accepted: boolean;
  try {
    const response = await client.sendOK({ method: "PUT", path: `/v1/kv/${escapePath(key)}`, query, body: value });
    accepted = parseJSONBody(response.body) === true;
  } catch (err) {
    if (mode === "cas") printLine(io.stderr, `Error! Did not write to ${key}: ${errorMessage(err)}`);
    else if (mode === "release") printLine(io.stderr, `Error! Failed writing data: ${key}`);
    else printLine(io.stderr, `Error! Failed writing data: ${errorMessage(err)}`);
    return 1;
  }

  // A plain put is always accepted; cas/acquire/release report a refusal as consul's CLI does.
  const outcome = PUT_OUTCOMES[mode];
  if (!accepted && outcome.refused !== undefined) {
    printLine(io.stderr, outcome.refused(key));
    return 1;
  }
  printLine(io.stdout, outcome.success(key));
  return 0;
}

const PUT_OUTCOMES: Record<"put" | "cas" | "acquire" | "release", { success: (key: string) => string; refused?: (key: string) => string }> = {
  put: { success: (key) => `Success! Data written to: ${key}` },
  cas: { success: (key) => `Success! Data written to: ${key}`, refused: (key) => `Error! Did not write to ${key}: CAS failed` },
  acquire: { success: (key) => `Success! Lock acquired on: ${key}`, refused: () => "Error! Did not acquire lock" },
  release: { success: (key) => `Success! Lock released on: ${key}`, refused: () => "Error! Did not release lock" },
};

// ---- kv delete ----------------------------------------------------------------------------

const DELETE_FLAGS = {
  cas: boolFlag(
    "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false.",
  ),
  "modify-index": uintFlag(
    "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag.",
  ),
  recurse: boolFlag("Recursively delete all keys with the path. The default value is false."),
  ...HTTP_FLAGS,
} as const;

const DELETE_HELP = `
Usage: consulate kv delete [options] KEY_OR_PREFIX

  Removes the value from Consul's key-value store at the given path. If no
  key exists at the path, no action is taken.

      $ consulate kv delete foo

  To delete all keys which start with "foo", specify the -recurse option:

      $ consulate kv delete -recurse foo
`;

async function runDelete(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(DELETE_FLAGS, DELETE_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const flags = parsed.values;
  if (parsed.args.length > 1) {
    printLine(io.stderr, `Too many arguments (expected 1, got ${parsed.args.length})`);
    return 1;
  }
  const key = stripLeadingSlash(parsed.args[0] ?? "");
  if (key === "" && !flags.recurse) {
    printLine(io.stderr, "Error! Missing KEY argument");
    return 1;
  }
  if (flags.cas && flags["modify-index"] === 0) {
    printLine(io.stderr, "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.");
    return 1;
  }
  if (flags["modify-index"] !== 0 && !flags.cas) {
    printLine(io.stderr, "Cannot specify -modify-index without -cas!");
    return 1;
  }
  if (flags.recurse && flags.cas) {
    printLine(io.stderr, "Cannot specify both -cas and -recurse!");
    return 1;
  }
  const client = await connectOrReport(flags, io);
  if (client === undefined) return 1;
  const path = `/v1/kv/${escapePath(key)}`;

  if (flags.recurse) {
    try {
      await client.sendOK({ method: "DELETE", path, query: { recurse: "" } });
    } catch (err) {
      printLine(io.stderr, `Error! Did not delete prefix ${key}: ${errorMessage(err)}`);
      return 1;
    }
    printLine(io.stdout, `Success! Deleted keys with prefix: ${key}`);
    return 0;
  }
  if (flags.cas) {
    let deleted: boolean;
    try {
      const response = await client.sendOK({ method: "DELETE", path, query: { cas: String(flags["modify-index"]) } });
      deleted = parseJSONBody(response.body) === true;
    } catch (err) {
      printLine(io.stderr, `Error! Did not delete key ${key}: ${errorMessage(err)}`);
      return 1;
    }
    if (!deleted) {
      printLine(io.stderr, `Error! Did not delete key ${key}: CAS failed`);
      return 1;
    }
    printLine(io.stdout, `Success! Deleted key: ${key}`);
    return 0;
  }
  try {
    await client.sendOK({ method: "DELETE", path });
  } catch (err) {
    printLine(io.stderr, `Error deleting key ${key}: ${errorMessage(err)}`);
    return 1;
  }
  printLine(io.stdout, `Success! Deleted key: ${key}`);
  return 0;
}

// ---- kv export / import -------------------------------------------------------------------

/** JSON.stringify that writes bigint values as bare integers (uint64 flags). */
function stringifyWithUint64(value: unknown, indent: string): string {
  const marker = "\u0000u64:";
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${marker}${v.toString()}` : v), indent);
  return text.replace(/"\\u0000u64:(\d+)"/g, "$1");
}

/** Go's encoding/json escapes these even when indenting; keep byte-identical exports. */
function goJSONEscape(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const EXPORT_FLAGS = { ...HTTP_FLAGS } as const;

const EXPORT_HELP = `
Usage: consulate kv export [KEY_OR_PREFIX]

  Retrieves key-value pairs for the given prefix from Consul's key-value store,
  and writes a JSON representation to stdout. This can be used with the command
  "consulate kv import" to move entire trees between Consul clusters.

      $ consulate kv export vault
`;

async function runExport(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(EXPORT_FLAGS, EXPORT_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length > 1) {
    printLine(io.stderr, `Too many arguments (expected 1, got ${parsed.args.length})`);
    return 1;
  }
  const key = stripLeadingSlash(parsed.args[0] ?? "");
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;
  let pairs: KVEntry[];
  try {
    // Flags are uint64 (the lock helpers use values above 2^53): parse them exactly.
    const response = await client.send({ method: "GET", path: `/v1/kv/${escapePath(key)}`, query: { recurse: "" }, read: true });
    if (response.statusCode !== 200 && response.statusCode !== 404) {
      throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
    }
    pairs = response.statusCode === 404 ? [] : parseKVEntries(response.body);
  } catch (err) {
    printLine(io.stderr, `Error querying Consul agent: ${errorMessage(err)}`);
    return 1;
  }
  const entries = pairs.map((pair) => ({
    key: pair.Key,
    flags: pair.Flags,
    value: (pair.Value ?? Buffer.alloc(0)).toString("base64"),
    ...(pair.Namespace !== "" ? { namespace: pair.Namespace } : {}),
    ...(pair.Partition !== "" ? { partition: pair.Partition } : {}),
  }));
  printLine(io.stdout, goJSONEscape(stringifyWithUint64(entries, "\t")));
  return 0;
}

const IMPORT_FLAGS = {
  prefix: stringFlag("Key prefix for imported data"),
  ...HTTP_FLAGS,
} as const;

const IMPORT_HELP = `
Usage: consulate kv import [DATA]

  Imports key-value pairs to the key-value store from the JSON representation
  generated by the "consulate kv export" command.

  The data can be read from a file by prefixing the filename with the "@"
  symbol, or from stdin using the "-" symbol:

      $ consulate kv import @filename.json
      $ cat filename.json | consulate kv import -
`;

interface ImportEntry {
  key: string;
  flags: bigint;
  value: string;
}

/** A uint64 as encoding/json accepts it into the `flags` field. */
function importFlags(raw: unknown): bigint {
  if (raw === undefined || raw === null) return 0n;
  if (typeof raw === "bigint" && raw >= 0n && raw < 1n << 64n) return raw;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) return BigInt(raw);
  throw new Error(`json: cannot unmarshal ${typeof raw === "string" ? "string" : "number"} into Go struct field Entry.flags of type uint64`);
}

/** Go's json.Unmarshal matches field names case-insensitively. */
function fieldOf(record: Record<string, unknown>, name: string): unknown {
  const match = Object.keys(record).find((k) => k.toLowerCase() === name);
  return match === undefined ? undefined : record[match];
}

function parseImportEntries(text: string): ImportEntry[] {
  const data = parseJsonWithBigInts(text);
  if (data === null) return [];
  if (!Array.isArray(data)) throw new Error("json: cannot unmarshal object into Go value of type []*impexp.Entry");
  return data
    .filter((item): item is Record<string, unknown> => item !== null && typeof item === "object")
    .map((item) => ({
      key: String(fieldOf(item, "key") ?? ""),
      flags: importFlags(fieldOf(item, "flags")),
      value: String(fieldOf(item, "value") ?? ""),
    }));
}

/** path.Join(prefix, key): joined and cleaned, with a trailing "/" kept for directory keys. */
export function importKey(prefix: string, key: string): string {
  const joined = [prefix, key].filter((part) => part !== "").join("/");
  if (joined === "") return key.endsWith("/") ? "/" : "";
  const absolute = joined.startsWith("/");
  const segments: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length > 0 && segments[segments.length - 1] !== "..") segments.pop();
      else if (!absolute) segments.push("..");
      continue;
    }
    segments.push(segment);
  }
  let cleaned = (absolute ? "/" : "") + segments.join("/");
  if (cleaned === "") cleaned = absolute ? "/" : ".";
  return key.endsWith("/") ? `${cleaned}/` : cleaned;
}

async function runImport(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseCommandLine(IMPORT_FLAGS, IMPORT_HELP, args, io);
  if (typeof parsed === "number") return parsed;
  if (parsed.args.length === 0) {
    printLine(io.stderr, "Error! Missing DATA argument");
    return 1;
  }
  if (parsed.args.length > 1) {
    printLine(io.stderr, `Error! Too many arguments (expected 1, got ${parsed.args.length})`);
    return 1;
  }
  if (parsed.args[0] === "") {
    printLine(io.stderr, "Error! Empty DATA argument");
    return 1;
  }
  let data: string;
  try {
    data = (await dataArgument(parsed.args[0], io)).toString("utf8");
  } catch (err) {
    printLine(io.stderr, `Error! ${errorMessage(err)}`);
    return 1;
  }
  const client = await connectOrReport(parsed.values, io);
  if (client === undefined) return 1;

  let entries: ImportEntry[];
  try {
    entries = parseImportEntries(data);
  } catch (err) {
    printLine(io.stderr, `Cannot unmarshal data: ${errorMessage(err)}`);
    return 1;
  }
  for (const entry of entries) {
    let value: Buffer;
    try {
      value = decodeStrictBase64(entry.value);
    } catch (err) {
      printLine(io.stderr, `Error base 64 decoding value for key ${entry.key}: ${errorMessage(err)}`);
      return 1;
    }
    const key = importKey(parsed.values.prefix, entry.key);
    try {
      await client.sendOK({
        method: "PUT",
        path: `/v1/kv/${escapePath(key)}`,
        query: { flags: entry.flags !== 0n ? entry.flags.toString() : undefined },
        body: value,
      });
    } catch (err) {
      printLine(io.stderr, `Error! Failed writing data for key ${key}: ${errorMessage(err)}`);
      return 1;
    }
    printLine(io.stdout, `Imported: ${key}`);
  }
  return 0;
}

// ---- the group ----------------------------------------------------------------------------

const KV_HELP = `
Usage: consulate kv <subcommand> [options] [args]

  This command has subcommands for interacting with Consul's key-value
  store. Here are some simple examples, and more detailed examples are
  available in the subcommands or the documentation.

  Create or update the key named "redis/config/connections" with the value "5":

      $ consulate kv put redis/config/connections 5

  Read this value back:

      $ consulate kv get redis/config/connections

  Or get detailed key information:

      $ consulate kv get -detailed redis/config/connections

  Finally, delete the key:

      $ consulate kv delete redis/config/connections

  For more examples, ask for subcommand help or view the documentation.
`;

export const kvCommands: Readonly<Record<string, CommandDefinition>> = {
  kv: { synopsis: "Interact with the key-value store", help: helpFor(KV_HELP, undefined) },
  "kv get": { synopsis: "Retrieves or lists data from the KV store", help: helpFor(GET_HELP, GET_FLAGS), run: runGet },
  "kv put": { synopsis: "Sets or updates data in the KV store", help: helpFor(PUT_HELP, PUT_FLAGS), run: runPut },
  "kv delete": { synopsis: "Removes data from the KV store", help: helpFor(DELETE_HELP, DELETE_FLAGS), run: runDelete },
  "kv export": {
    synopsis: "Exports a tree from the KV store as JSON",
    help: helpFor(EXPORT_HELP, EXPORT_FLAGS),
    run: runExport,
  },
  "kv import": {
    synopsis: "Imports a tree stored as JSON to the KV store",
    help: helpFor(IMPORT_HELP, IMPORT_FLAGS),
    run: runImport,
  },
};
