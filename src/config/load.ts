// Start-up configuration: defaults, dev profile, flags, config files/dirs and -hcl fragments,
// merged in Consul's order and validated once. File-system access is injectable for tests.

import { readdir, readFile, stat } from "node:fs/promises";
import { systemClock } from "../runtime/clock.ts";
import { hostname as osHostname, networkInterfaces as osNetworkInterfaces } from "node:os";
import { join } from "node:path";
import { randomUUID as cryptoRandomUUID } from "node:crypto";
import { findJsonTooDeep, jsonTooDeepMessage } from "../model/json-depth.ts";
import { parseHcl } from "./hcl.ts";
import { flagSources, type AgentFlagValues } from "./agent-flags.ts";
import { ConfigError, formatDecodingErrors, formatMultiError } from "./config-error.ts";
import { decodeConfig, isPlainObject, type RawConfig, type SourceFormat } from "./decode.ts";
import { DEFAULT_CONFIG, DEV_CONFIG } from "./defaults.ts";
import { mergeConfigs } from "./merge.ts";
import { buildRuntimeConfig, type RuntimeConfig } from "./runtime-config.ts";
import { CONFIG_SCHEMA } from "./schema.ts";
import type { InterfaceTable } from "./sockaddr.ts";
import { loadTlsMaterial, translateLegacyTlsKeys, type TlsFileIo } from "./tls.ts";
import { translateLegacyAclKeys } from "./acl-legacy.ts";
import { recordSetBy, refuseUnsupportedKeys, type SetBy, type WrittenAs } from "./unsupported.ts";

export type PathKind = "dir" | "file" | undefined;

export interface LoadOptions {
  readFile?: (path: string) => Promise<string>;
  /** Entry names of a directory (not recursive). */
  readDir?: (path: string) => Promise<string[]>;
  /** "dir", "file", or undefined when the path does not exist (symlinks followed). */
  statPath?: (path: string) => Promise<PathKind>;
  hostname?: () => string;
  randomUUID?: () => string;
  networkInterfaces?: () => InterfaceTable;
  /** Wall clock for certificate validity checks. */
  now?: () => Date;
}

/** Every non-directory file under `dir`, recursively, as Consul walks ca_path. */
async function listFilesRecursive(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFilesRecursive(full)));
    else out.push(full);
  }
  return out;
}

interface Io {
  readFile: (path: string) => Promise<string>;
  readDir: (path: string) => Promise<string[]>;
  statPath: (path: string) => Promise<PathKind>;
}

function defaultIo(options: LoadOptions): Io {
  return {
    readFile: options.readFile ?? ((p) => readFile(p, "utf8")),
    readDir: options.readDir ?? ((p) => readdir(p)),
    statPath:
      options.statPath ??
      (async (p) => {
        try {
          return (await stat(p)).isDirectory() ? "dir" : "file";
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
          throw err;
        }
      }),
  };
}

interface Source {
  name: string;
  format: SourceFormat;
  text: string;
}

function formatFromExtension(path: string): SourceFormat | undefined {
  if (path.endsWith(".json")) return "json";
  if (path.endsWith(".hcl")) return "hcl";
  return undefined;
}

const SKIP_WARNING = (path: string): string =>
  `skipping file ${path}, extension must be .hcl or .json, or config format must be set`;

/** One -config-file or -config-dir argument → its sources, a directory's files in lexical order. */
async function sourcesFromPath(path: string, forced: SourceFormat | undefined, io: Io, warnings: string[]): Promise<Source[]> {
  const kind = await io.statPath(path);
  if (kind === undefined) {
    throw new ConfigError(`config: Open failed on ${path}. open ${path}: no such file or directory`, { source: path });
  }
  const files: string[] = [];
  if (kind === "file") {
    files.push(path);
  } else {
    const names = (await io.readDir(path)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const full = join(path, name);
      if ((await io.statPath(full)) !== "file") continue; // not recursive
      files.push(full);
    }
  }
  const sources: Source[] = [];
  for (const file of files) {
    const format = forced ?? formatFromExtension(file);
    if (format === undefined) {
      warnings.push(SKIP_WARNING(file));
      continue;
    }
    let text: string;
    try {
      text = await io.readFile(file);
    } catch (err) {
      throw new ConfigError(`config: failed to read ${file}: ${err instanceof Error ? err.message : String(err)}`, {
        source: file,
        cause: err,
      });
    }
    sources.push({ name: file, format, text });
  }
  return sources;
}

async function parseSourceText(source: Source): Promise<RawConfig | undefined> {
  if (source.text.trim() === "") return undefined; // Consul skips empty sources (ErrNoData)
  let parsed: unknown;
  try {
    if (source.format === "json") {
      // Service definitions here become registrations: nothing our encoders cannot handle.
      const tooDeep = findJsonTooDeep(source.text);
      if (tooDeep) throw new Error(`${jsonTooDeepMessage(tooDeep)} at offset ${tooDeep.offset}`);
      parsed = JSON.parse(source.text);
    } else {
      parsed = await parseHcl(source.name, source.text);
    }
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/^parse config: /, "");
    throw new ConfigError(`failed to parse ${source.name}: ${reason}`, { source: source.name, cause: err });
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigError(`failed to parse ${source.name}: config must be a single JSON object`, { source: source.name });
  }
  return parsed;
}

/** A service's single `check` joins its `checks`, so consumers see one list. */
function normaliseService(service: unknown): unknown {
  if (!isPlainObject(service) || service.check === undefined) return service;
  const { check, ...rest } = service;
  const checks = Array.isArray(rest.checks) ? rest.checks : [];
  return { ...rest, checks: [...checks, check] };
}

interface DecodedSource {
  config: RawConfig;
  /** Deprecation warnings and the deprecated names this source used (config/tls.ts). */
  legacy: ReturnType<typeof translateLegacyTlsKeys>;
}

/** Decodes one source; throws a ConfigError naming the source and the keys on any problem. */
function decodeSource(raw: RawConfig, name: string | undefined, format: SourceFormat): DecodedSource {
  const result = decodeConfig(raw, CONFIG_SCHEMA, format);
  const prefix = name === undefined ? "" : `failed to parse ${name}: `;
  if (result.typeErrors.length > 0) {
    const key = /^'([^']*)'/.exec(result.typeErrors[0])?.[1];
    throw new ConfigError(prefix + formatDecodingErrors(result.typeErrors), { source: name, key });
  }
  if (result.unknownKeys.length > 0) {
    const messages = result.unknownKeys.map((k) => `invalid config key ${k}`);
    throw new ConfigError(prefix + formatMultiError(messages), { source: name, key: result.unknownKeys[0] });
  }
  if (result.valueErrors.length > 0) {
    const messages = result.valueErrors.map((p) => p.message);
    throw new ConfigError(prefix + formatMultiError(messages), { source: name, key: result.valueErrors[0].key });
  }
  // Consul folds a source's single `service`/`check` into the lists before merging,
  // since two sources' singular blocks would otherwise overwrite each other.
  const config = { ...result.config };
  for (const [singular, plural] of [
    ["service", "services"],
    ["check", "checks"],
  ] as const) {
    if (config[singular] !== undefined) {
      const list = Array.isArray(config[plural]) ? (config[plural] as unknown[]) : [];
      config[plural] = [...list, config[singular]];
      delete config[singular];
    }
  }
  if (Array.isArray(config.services)) config.services = config.services.map(normaliseService);
  const legacy = translateLegacyTlsKeys(config);
  const legacyAcl = translateLegacyAclKeys(config);
  for (const [path, name] of legacyAcl.renamed) legacy.renamed.set(path, name);
  legacy.warnings.push(...legacyAcl.warnings);
  return { config, legacy };
}

/** How a refusal names a value that came from agent flags rather than a file. */
const FLAGS_SOURCE = "command-line flags";

export interface ReadConfigResult {
  merged: RawConfig;
  /** Which user source set each key path (defaults and the -dev profile are absent). */
  setBy: SetBy;
  writtenAs: WrittenAs;
  configSources: string[];
  warnings: string[];
}

/** Reads and merges every source in Consul's order; no semantic validation yet. */
async function readMergedConfig(flags: AgentFlagValues, io: Io): Promise<ReadConfigResult & { dev: boolean; recoverTruncatedLog: boolean }> {
  const { load, slices, values } = flagSources(flags);
  const warnings: string[] = [];
  const configSources: string[] = [];
  const setBy: SetBy = new Map();
  const writtenAs: WrittenAs = new Map();
  const overlay = (base: RawConfig, decoded: DecodedSource, sourceName: string): RawConfig => {
    recordSetBy(decoded.config, sourceName, setBy);
    for (const [path, legacyName] of decoded.legacy.renamed) writtenAs.set(path, legacyName);
    warnings.push(...decoded.legacy.warnings);
    return mergeConfigs(base, decoded.config, CONFIG_SCHEMA);
  };

  let merged = mergeConfigs({}, DEFAULT_CONFIG, CONFIG_SCHEMA);
  if (load.dev) merged = mergeConfigs(merged, DEV_CONFIG, CONFIG_SCHEMA);
  merged = overlay(merged, decodeSource(slices, undefined, "json"), FLAGS_SOURCE);

  // -config-file entries may also name directories, as in Consul; callers that need the exact
  // interleaving of -config-file and -config-dir can pass them all as config-file in order.
  for (const path of [...load.configFiles, ...load.configDirs]) {
    for (const source of await sourcesFromPath(path, load.configFormat, io, warnings)) {
      configSources.push(source.name);
      const raw = await parseSourceText(source);
      if (raw === undefined) continue;
      merged = overlay(merged, decodeSource(raw, source.name, source.format), source.name);
    }
  }

  merged = overlay(merged, decodeSource(values, undefined, "json"), FLAGS_SOURCE);

  for (const [i, text] of load.hcl.entries()) {
    const source: Source = { name: `flags-${i}.hcl`, format: "hcl", text };
    const raw = await parseSourceText(source);
    if (raw === undefined) continue;
    merged = overlay(merged, decodeSource(raw, source.name, "hcl"), source.name);
  }
  // A private copy: the result must never alias DEFAULT_CONFIG's nested objects.
  return { merged: structuredClone(merged), setBy, writtenAs, configSources, warnings, dev: load.dev, recoverTruncatedLog: load.recoverTruncatedLog };
}

/**
 * Loads, merges and validates the agent configuration. Throws ConfigError (never starts
 * half-configured). `flags` are the already-parsed `consul agent` flag values.
 */
export async function loadRuntimeConfig(flags: AgentFlagValues, options: LoadOptions = {}): Promise<RuntimeConfig> {
  const io = defaultIo(options);
  const { merged, setBy, writtenAs, configSources, warnings, dev, recoverTruncatedLog } = await readMergedConfig(flags, io);
  // Before anything else is judged: a promise we cannot keep outranks a typo elsewhere.
  refuseUnsupportedKeys(merged, setBy, writtenAs);
  const dataDir = typeof merged.data_dir === "string" ? merged.data_dir : "";
  const dataDirKind = dataDir === "" || dev ? undefined : await io.statPath(dataDir);
  const rt = buildRuntimeConfig(merged, {
    dev,
    recoverTruncatedLog,
    hostname: options.hostname ?? osHostname,
    randomUUID: options.randomUUID ?? cryptoRandomUUID,
    networkInterfaces: options.networkInterfaces ?? osNetworkInterfaces,
    statKind: () => dataDirKind,
    configSources,
    warnings,
  });
  // Certificate files are read (and refused when missing, unreadable, expired or mismatched)
  // whether or not a listener uses them yet, as Consul's configurator loads them at start.
  const tlsIo: TlsFileIo = {
    readFile: io.readFile,
    listFilesRecursive,
    now: options.now ?? (() => new Date(systemClock.now())),
  };
  const autoCert = rt.autoEncrypt.tls;
  rt.httpsTls = await loadTlsMaterial(rt.tls.https, "tls.https", tlsIo, autoCert);
  rt.internalRpcTls = await loadTlsMaterial(rt.tls.internalRpc, "tls.internal_rpc", tlsIo, autoCert);
  if (autoCert && (rt.internalRpcTls === undefined || rt.internalRpcTls.ca.length === 0)) {
    throw new ConfigError("auto_encrypt.tls needs a CA (tls.defaults.ca_file or ca_path, or tls.internal_rpc's) to verify the servers' certificate before asking for its own", {
      key: "auto_encrypt.tls",
    });
  }
  if (rt.autoEncrypt.allowTls && rt.internalRpcTls?.cert === undefined) {
    throw new ConfigError("auto_encrypt.allow_tls needs TLS on the server port: set cert_file and key_file (tls.defaults or tls.internal_rpc) and a ca_file", {
      key: "auto_encrypt.allow_tls",
    });
  }
  // A client with auto_encrypt.tls serves HTTPS with the certificate the servers give it.
  if (rt.ports.https > 0 && rt.httpsTls?.cert === undefined && !autoCert) {
    throw new ConfigError("ports.https is set but no cert_file and key_file are configured for HTTPS (tls.https or tls.defaults)", { key: "ports.https" });
  }
  return rt;
}

/**
 * `consul validate PATH...`: loads the files exactly as the agent would, without starting
 * anything. Resolves when valid (the CLI prints "Configuration is valid!"); otherwise throws
 * ConfigError (the CLI prints "Config validation failed: " + message).
 */
export async function validateConfigFiles(
  paths: string[],
  options: LoadOptions & { configFormat?: "json" | "hcl" } = {},
): Promise<void> {
  if (paths.length === 0) throw new ConfigError("Must specify at least one config file or directory");
  const { configFormat, ...loadOptions } = options;
  // Validation judges the files, not this machine's network: an unset bind address must not
  // fail because the host running `validate` has no single private IPv4 address.
  loadOptions.networkInterfaces ??= () => ({
    validate: [{ address: "10.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: false, cidr: "10.0.0.1/8" }],
  });
  const flags: AgentFlagValues = { "config-file": paths };
  if (configFormat !== undefined) flags["config-format"] = configFormat;
  await loadRuntimeConfig(flags, loadOptions);
}
