// Typed failures of the durable store. Corruption is never repaired silently: only a torn
// tail (the unsynced end of the last segment) is truncated; anything else stops the server
// with an error that names the file and byte offset, so an operator can decide.

export const DiskErrorCode = {
  /** A record that is not the torn tail of the log fails its checksum or framing. */
  WalCorrupt: "wal-corrupt",
  /** Entries are missing between segments or between the snapshot and the log. */
  WalGap: "wal-gap",
  /** The hard-state file exists but fails its checksum. */
  StableStoreCorrupt: "stable-store-corrupt",
  /** The newest snapshot file fails its checksum. */
  SnapshotCorrupt: "snapshot-corrupt",
  /** Another live agent holds the data dir's lock file. */
  DataDirLocked: "data-dir-locked",
  /** The hard state's commit index is beyond the last entry on disk: acknowledged entries are gone. */
  CommittedEntriesMissing: "committed-entries-missing",
  /** The store was used after close() or after a failed write left it in an unknown state. */
  Closed: "closed",
} as const;
export type DiskErrorCode = (typeof DiskErrorCode)[keyof typeof DiskErrorCode];

export class DiskStorageError extends Error {
  readonly code: DiskErrorCode;
  /** The file the problem was found in, when there is one. */
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(code: DiskErrorCode, message: string, details: { file?: string; offset?: number; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "DiskStorageError";
    this.code = code;
    this.file = details.file;
    this.offset = details.offset;
  }
}

export function isDiskStorageError(err: unknown, code: DiskErrorCode): err is DiskStorageError {
  return err instanceof DiskStorageError && err.code === code;
}
