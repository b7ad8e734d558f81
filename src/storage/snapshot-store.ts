import { join } from "node:path";
import { Packr } from "msgpackr";
import type { ConfState, Snapshot, SnapshotMetadata } from "../raft/messages.ts";
import { readChecksummedFile, writeFileAtomically } from "./atomic-file.ts";
import type { FileSystem } from "./file-system.ts";
import { DiskErrorCode, DiskStorageError } from "./storage-errors.ts";

// State-machine snapshots, one file each, named `<term>-<index>.snap` in hex so names sort by
// recency. A file is [crc32][u32 metadata length][msgpack metadata][data], written atomically.
// The newest `retain` files are kept; older ones go once a newer one is durable.

const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const hex16 = (n: number): string => n.toString(16).padStart(16, "0");
const packr = new Packr({ useRecords: false });

export interface SnapshotStoreOptions {
  /** How many snapshot files to keep (at least 1). */
  retain: number;
}

export class SnapshotStore {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #retain: number;

  constructor(fs: FileSystem, dir: string, options: Partial<SnapshotStoreOptions> = {}) {
    this.#fs = fs;
    this.#dir = dir;
    this.#retain = Math.max(1, options.retain ?? 2);
  }

  async save(snap: Snapshot): Promise<void> {
    await this.#fs.mkdirp(this.#dir);
    const { index, term, confState } = snap.metadata;
    const meta = packr.pack([index, term, confState.voters, confState.learners]);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, meta.byteLength, true);
    await writeFileAtomically(this.#fs, join(this.#dir, `${hex16(term)}-${hex16(index)}.snap`), [len, meta, snap.data]);
    const names = await this.#names();
    let removed = false;
    for (const old of names.slice(0, Math.max(0, names.length - this.#retain))) {
      await this.#fs.remove(join(this.#dir, old.name));
      removed = true;
    }
    if (removed) await this.#fs.syncDir(this.#dir);
  }

  /** The newest snapshot, or undefined when none was ever saved. A corrupt newest one throws. */
  async loadNewest(): Promise<Snapshot | undefined> {
    const names = await this.#names();
    const newest = names[names.length - 1];
    if (!newest) return undefined;
    const path = join(this.#dir, newest.name);
    const payload = await readChecksummedFile(this.#fs, path);
    const snap = payload instanceof Uint8Array ? decodeSnapshot(payload) : undefined;
    if (!snap || snap.metadata.index !== newest.index || snap.metadata.term !== newest.term) {
      throw new DiskStorageError(DiskErrorCode.SnapshotCorrupt, `snapshot store: ${path} fails its checksum`, { file: path });
    }
    return snap;
  }

  async #names(): Promise<{ name: string; term: number; index: number }[]> {
    return (await this.#fs.list(this.#dir))
      .map((name) => {
        const m = SNAP_NAME.exec(name);
        return m ? { name, term: parseInt(m[1], 16), index: parseInt(m[2], 16) } : undefined;
      })
      .filter((n): n is { name: string; term: number; index: number } => n !== undefined)
      .sort((a, b) => a.index - b.index || a.term - b.term);
  }
}

function decodeSnapshot(payload: Uint8Array): Snapshot | undefined {
  if (payload.byteLength < 4) return undefined;
  const metaLen = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (4 + metaLen > payload.byteLength) return undefined;
  let meta: unknown;
  try {
    meta = packr.unpack(payload.subarray(4, 4 + metaLen));
  } catch {
    return undefined;
  }
  if (!Array.isArray(meta) || meta.length !== 4) return undefined;
  const [index, term, voters, learners] = meta as unknown[];
  if (typeof index !== "number" || typeof term !== "number" || !isIdList(voters) || !isIdList(learners)) return undefined;
  const confState: ConfState = { voters, learners };
  const metadata: SnapshotMetadata = { index, term, confState };
  // Copy so the snapshot does not pin the whole file buffer's backing store by accident.
  return { data: payload.slice(4 + metaLen), metadata };
}

function isIdList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n) => typeof n === "number");
}
