import { createHash, type Hash } from "node:crypto";
import {
  META_NAME,
  parseTarHeader,
  SnapshotArchiveError,
  STATE_NAME,
  SUMS_NAME,
  TAR_BLOCK,
  tarPadding,
  type SnapshotMeta,
} from "./snapshot-format.ts";

// Reads the tar inside a snapshot archive as it arrives, in chunks of any size: headers are
// decoded as their 512th byte comes in, state.bin is hashed while it streams, and nothing is
// trusted until finish() has checked SHA256SUMS. Error texts are those of Consul's
// snapshot.Read (snapshot/archive.go, snapshot/snapshot.go).

const READ_FAILED = "failed to read snapshot file: ";
const INTEGRITY_FAILED = `${READ_FAILED}failed checking integrity of snapshot: `;
/** Zero padding after the end-of-archive block (GNU tar fills a 10 KiB record); past this the rest is not read. */
const MAX_TRAILING_BYTES = 1024 * 1024;
/** meta.json, SHA256SUMS and PAX/GNU extension headers are a few hundred bytes; more is not an archive of ours. */
const MAX_SMALL_ENTRY_BYTES = 1024 * 1024;

/** A size limit of the restore was passed; `what` says which. */
export class SnapshotTooLargeError extends SnapshotArchiveError {
  readonly what: "archive" | "state";
  readonly size: number;
  readonly limit: number;
  constructor(what: "archive" | "state", size: number, limit: number) {
    super(
      what === "archive"
        ? `failed to read snapshot file: archive larger than the ${limit}-byte limit`
        : `failed to read snapshot file: state.bin of ${size} bytes exceeds the ${limit}-byte limit`,
    );
    this.name = "SnapshotTooLargeError";
    this.what = what;
    this.size = size;
    this.limit = limit;
  }
}

export interface SnapshotParserOptions {
  /** Largest state.bin accepted; a larger one is refused from its header, before its data. */
  maxStateBytes: number;
  /** Verify state.bin without keeping it (inspect, the CLI's check after a save). */
  discardState?: boolean;
}

export interface ParsedSnapshot {
  meta: SnapshotMeta;
  /** Empty when the state was discarded. */
  state: Buffer;
}

interface OpenEntry {
  name: string;
  /** Extension headers (PAX, GNU long names) other tools may add: read and ignored. */
  skipped: boolean;
  size: number;
  remaining: number;
  chunks: Buffer[];
  /**
   * state.bin, filled as its bytes arrive: its size is in its header, and joining tens of MB
   * of 16 KiB gunzip chunks at the end was one long turn (~70 ms per 77 MB).
   */
  into: Buffer | undefined;
  hash: Hash | undefined;
}

export class SnapshotArchiveParser {
  readonly #options: SnapshotParserOptions;
  readonly #header = Buffer.alloc(TAR_BLOCK);
  #headerFill = 0;
  #entry: OpenEntry | undefined;
  #padding = 0;
  #ended = false;
  /** Non-zero bytes after the end-of-archive block (zero padding, as GNU tar writes, is fine). */
  #trailing = 0;
  #trailingBytes = 0;
  #meta: Buffer | undefined;
  #state: Buffer | undefined;
  #stateSum: string | undefined;
  #sums: Buffer | undefined;

  constructor(options: SnapshotParserOptions) {
    this.#options = options;
  }

  /** Feeds the next bytes of the (uncompressed) tar. Throws SnapshotArchiveError on the first problem. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#ended) {
        this.#trailingBytes += chunk.length - at;
        if (this.#trailingBytes > MAX_TRAILING_BYTES) throw new SnapshotArchiveError(`${this.#trailingBytes} unread uncompressed bytes remain`);
        for (; at < chunk.length; at++) if (chunk[at] !== 0) this.#trailing++;
        return;
      }
      const entry = this.#entry;
      if (entry) {
        const take = Math.min(entry.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + take);
        entry.hash?.update(piece);
        if (entry.into) piece.copy(entry.into, entry.size - entry.remaining);
        else if (!entry.skipped && !(entry.name === STATE_NAME && this.#options.discardState === true)) entry.chunks.push(piece);
        entry.remaining -= take;
        at += take;
        if (entry.remaining === 0) this.#close(entry);
        continue;
      }
      if (this.#padding > 0) {
        const skip = Math.min(this.#padding, chunk.length - at);
        this.#padding -= skip;
        at += skip;
        continue;
      }
      const take = Math.min(TAR_BLOCK - this.#headerFill, chunk.length - at);
      chunk.copy(this.#header, this.#headerFill, at, at + take);
      this.#headerFill += take;
      at += take;
      if (this.#headerFill === TAR_BLOCK) {
        this.#headerFill = 0;
        this.#open();
      }
    }
  }

  /**
   * The error for a tar stream that broke off here (`reason` "unexpected EOF") or whose gzip
   * layer failed, worded by what was being read, as Go's reader would.
   */
  interrupted(reason: string): SnapshotArchiveError {
    if (this.#ended) return new SnapshotArchiveError(reason);
    const entry = this.#entry;
    if (!entry || entry.skipped) return new SnapshotArchiveError(`${READ_FAILED}failed reading snapshot: ${reason}`);
    if (entry.name === META_NAME) return new SnapshotArchiveError(`${READ_FAILED}failed to decode snapshot metadata: ${reason}`);
    if (entry.name === STATE_NAME) return new SnapshotArchiveError(`${READ_FAILED}failed to read or write snapshot data: ${reason}`);
    return new SnapshotArchiveError(`${READ_FAILED}failed to read snapshot hashes: ${reason}`);
  }

  /** The input ended: checks what was read against SHA256SUMS and returns it. */
  finish(): ParsedSnapshot {
    if (!this.#ended && (this.#entry !== undefined || this.#padding > 0 || this.#headerFill > 0)) throw this.interrupted("unexpected EOF");
    const metaBytes = this.#meta ?? Buffer.alloc(0);
    const meta = parseMeta(metaBytes);
    this.#verify(sha256(metaBytes), this.#stateSum ?? sha256(Buffer.alloc(0)));
    if (this.#trailing > 0) throw new SnapshotArchiveError(`${this.#trailing} unread uncompressed bytes remain`);
    return { meta, state: this.#state ?? Buffer.alloc(0) };
  }

  #open(): void {
    let header;
    try {
      header = parseTarHeader(this.#header);
    } catch (err) {
      throw new SnapshotArchiveError(`${READ_FAILED}failed reading snapshot: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (header === undefined) {
      this.#ended = true;
      return;
    }
    const { name, size, type } = header;
    const skipped = type === "x" || type === "g" || type === "L" || type === "K";
    if (!skipped && name !== META_NAME && name !== STATE_NAME && name !== SUMS_NAME) {
      throw new SnapshotArchiveError(`${READ_FAILED}unexpected file ${JSON.stringify(name)} in snapshot`);
    }
    if (name === STATE_NAME && !skipped) {
      if (size > this.#options.maxStateBytes) throw new SnapshotTooLargeError("state", size, this.#options.maxStateBytes);
    } else if (size > MAX_SMALL_ENTRY_BYTES) {
      throw new SnapshotArchiveError(`${READ_FAILED}failed reading snapshot: ${name} of ${size} bytes is larger than the ${MAX_SMALL_ENTRY_BYTES}-byte limit`);
    }
    const entry: OpenEntry = {
      name,
      skipped,
      size,
      remaining: size,
      chunks: [],
      into: name === STATE_NAME && !skipped && this.#options.discardState !== true ? Buffer.allocUnsafe(size) : undefined,
      hash: name === STATE_NAME && !skipped ? createHash("sha256") : undefined,
    };
    if (size === 0) this.#close(entry);
    else this.#entry = entry;
  }

  #close(entry: OpenEntry): void {
    this.#entry = undefined;
    this.#padding = tarPadding(entry.size);
    if (entry.skipped) return;
    const data = entry.into ?? Buffer.concat(entry.chunks);
    if (entry.name === META_NAME) this.#meta = data;
    else if (entry.name === SUMS_NAME) this.#sums = data;
    else {
      this.#state = data;
      this.#stateSum = entry.hash?.digest("hex");
    }
  }

  #verify(metaSum: string, stateSum: string): void {
    const have = new Map([
      [META_NAME, metaSum],
      [STATE_NAME, stateSum],
    ]);
    const seen = new Set<string>();
    for (const line of (this.#sums ?? Buffer.alloc(0)).toString("utf8").split("\n")) {
      const text = line.replace(/\r$/, "");
      if (text.trim() === "") continue;
      const m = /^([0-9a-fA-F]{64}) {2}(\S+)/.exec(text);
      if (!m) throw new SnapshotArchiveError(`${INTEGRITY_FAILED}invalid SHA256SUMS line ${JSON.stringify(text)}`);
      const [, sum, file] = m;
      const want = have.get(file);
      if (want === undefined) throw new SnapshotArchiveError(`${INTEGRITY_FAILED}list missing hash for ${JSON.stringify(file)}`);
      if (want !== sum.toLowerCase()) throw new SnapshotArchiveError(`${INTEGRITY_FAILED}hash check failed for ${JSON.stringify(file)}`);
      seen.add(file);
    }
    for (const file of have.keys()) {
      if (!seen.has(file)) throw new SnapshotArchiveError(`${INTEGRITY_FAILED}file missing for ${JSON.stringify(file)}`);
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function parseMeta(bytes: Buffer): SnapshotMeta {
  let raw: unknown = {};
  if (bytes.length > 0) {
    try {
      raw = JSON.parse(bytes.toString("utf8"));
    } catch (err) {
      throw new SnapshotArchiveError(`${READ_FAILED}failed to decode snapshot metadata: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (typeof raw !== "object" || raw === null) throw new SnapshotArchiveError(`${READ_FAILED}failed to decode snapshot metadata: not an object`);
  const m = raw as Record<string, unknown>;
  const servers = (m.Configuration as { Servers?: unknown } | null | undefined)?.Servers;
  return {
    Version: Number(m.Version ?? 0),
    ID: String(m.ID ?? ""),
    Index: Number(m.Index ?? 0),
    Term: Number(m.Term ?? 0),
    Peers: String(m.Peers ?? ""),
    Configuration: { Servers: Array.isArray(servers) ? (servers as SnapshotMeta["Configuration"]["Servers"]) : [] },
    ConfigurationIndex: Number(m.ConfigurationIndex ?? 0),
    Size: Number(m.Size ?? 0),
  };
}
