import { createHash } from "node:crypto";
import { join } from "node:path";
import { nodeFileSystem, type FileSystem } from "./file-system.ts";

// Services and checks registered through the HTTP API survive a restart: each is one JSON
// file under the data dir, in Consul's own layout — `services/<md5(id)>` holding
// {Token, Service, Source} and `checks/<md5(id)>` holding {Check, ChkType, Token, Source} —
// so a data dir moves between Consul and Consulate. Writes are atomic (temp file, fsync,
// rename); a file that does not decode is skipped with a warning, as Consul does.

export interface PersistedService {
  Token: string;
  Service: Record<string, unknown>;
  /** "remote" (HTTP API) or "local" (config file), Consul's configSource names. */
  Source: string;
}

export interface PersistedCheck {
  Check: Record<string, unknown>;
  ChkType: Record<string, unknown> | null;
  Token: string;
  Source: string;
}

export interface LoadedRecords<T> {
  records: T[];
  /** Files that could not be read or decoded (name and reason), for the log. */
  skipped: { file: string; reason: string }[];
}

/** What the agent persists its API registrations through. */
export interface RegistrationStore {
  saveService(serviceId: string, record: PersistedService): Promise<void>;
  removeService(serviceId: string): Promise<void>;
  loadServices(): Promise<LoadedRecords<PersistedService>>;
  saveCheck(checkId: string, record: PersistedCheck): Promise<void>;
  removeCheck(checkId: string): Promise<void>;
  loadChecks(): Promise<LoadedRecords<PersistedCheck>>;
}

export const SERVICES_DIR = "services";
export const CHECKS_DIR = "checks";

/** Consul's StringHash: the file name of a registration is the md5 of its ID, in hex. */
export function registrationFileName(id: string): string {
  return createHash("md5").update(id).digest("hex");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class FileRegistrationStore implements RegistrationStore {
  readonly #dataDir: string;
  readonly #fs: FileSystem;

  constructor(dataDir: string, fs: FileSystem = nodeFileSystem) {
    this.#dataDir = dataDir;
    this.#fs = fs;
  }

  saveService(serviceId: string, record: PersistedService): Promise<void> {
    return this.#write(SERVICES_DIR, serviceId, record);
  }

  removeService(serviceId: string): Promise<void> {
    return this.#fs.remove(join(this.#dataDir, SERVICES_DIR, registrationFileName(serviceId)));
  }

  loadServices(): Promise<LoadedRecords<PersistedService>> {
    return this.#load(SERVICES_DIR, (v): v is PersistedService => isRecord(v) && isRecord(v.Service));
  }

  saveCheck(checkId: string, record: PersistedCheck): Promise<void> {
    return this.#write(CHECKS_DIR, checkId, record);
  }

  removeCheck(checkId: string): Promise<void> {
    return this.#fs.remove(join(this.#dataDir, CHECKS_DIR, registrationFileName(checkId)));
  }

  loadChecks(): Promise<LoadedRecords<PersistedCheck>> {
    return this.#load(CHECKS_DIR, (v): v is PersistedCheck => isRecord(v) && isRecord(v.Check));
  }

  async #write(dir: string, id: string, record: PersistedService | PersistedCheck): Promise<void> {
    const folder = join(this.#dataDir, dir);
    await this.#fs.mkdirp(folder);
    const path = join(folder, registrationFileName(id));
    const tmp = `${path}.tmp`;
    const { file } = await this.#fs.openWritable(tmp, { truncate: true });
    try {
      await file.writeAt([Buffer.from(JSON.stringify(record))], 0);
      await file.sync();
    } finally {
      await file.close();
    }
    await this.#fs.rename(tmp, path);
    await this.#fs.syncDir(folder);
  }

  async #load<T>(dir: string, valid: (v: unknown) => v is T): Promise<LoadedRecords<T>> {
    const folder = join(this.#dataDir, dir);
    const out: LoadedRecords<T> = { records: [], skipped: [] };
    for (const name of (await this.#fs.list(folder)).sort()) {
      // A temp file is a write that never finished; the previous version (if any) stands.
      if (name.endsWith("tmp")) continue;
      let bytes: Uint8Array | undefined;
      try {
        bytes = await this.#fs.read(join(folder, name));
      } catch {
        continue; // a directory such as Consul's checks/state
      }
      if (bytes === undefined) continue;
      try {
        const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
        if (valid(parsed)) out.records.push(parsed);
        else out.skipped.push({ file: name, reason: "not a registration record" });
      } catch (err) {
        out.skipped.push({ file: name, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    return out;
  }
}
