import { join } from "node:path";
import { Packr } from "msgpackr";
import type { HardState } from "../raft/messages.ts";
import { emptyHardState } from "../raft/messages.ts";
import { readChecksummedFile, writeFileAtomically } from "./atomic-file.ts";
import type { FileSystem } from "./file-system.ts";
import { DiskErrorCode, DiskStorageError } from "./storage-errors.ts";

// Raft's hard state (term, vote, commit) in one checksummed file replaced atomically. Term and
// vote must be durable before any vote or append response leaves the node; the commit index
// rides along whenever they change (and in the WAL otherwise), because losing it is harmless.

const FILE_NAME = "hardstate";
const packr = new Packr({ useRecords: false });

export class StableStore {
  readonly #fs: FileSystem;
  readonly #path: string;
  #current: HardState = emptyHardState();

  constructor(fs: FileSystem, dir: string) {
    this.#fs = fs;
    this.#path = join(dir, FILE_NAME);
  }

  get current(): HardState {
    return { ...this.#current };
  }

  async load(): Promise<HardState> {
    const payload = await readChecksummedFile(this.#fs, this.#path);
    if (payload === "missing") return emptyHardState();
    const decoded: unknown = payload === "corrupt" ? undefined : safeUnpack(payload);
    if (!Array.isArray(decoded) || decoded.length !== 3 || !decoded.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new DiskStorageError(DiskErrorCode.StableStoreCorrupt, `stable store: ${this.#path} fails its checksum`, { file: this.#path });
    }
    const [term, vote, commit] = decoded as number[];
    this.#current = { term, vote, commit };
    return this.current;
  }

  async save(hs: HardState): Promise<void> {
    await writeFileAtomically(this.#fs, this.#path, [packr.pack([hs.term, hs.vote, hs.commit])]);
    this.#current = { ...hs };
  }
}

function safeUnpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch {
    return undefined;
  }
}
