import { Packr } from "msgpackr";
import type { Command } from "../fsm/command.ts";
import type { SlicedWork } from "../runtime/sliced-work.ts";
import { countWalkedElements, LARGE_BINARY_BYTES, packSlices, unpackSlices } from "../state/msgpack-slices.ts";

// Commands travel as msgpack (Buffers and bigints included). Small commands, the common case,
// are packed and unpacked in one call. Wide ones (a register with thousands of checks, a txn
// with many ops) cost several milliseconds each way, so they can also be written and read as
// SlicedWork (state/msgpack-slices.ts), pausing between batches of elements; the bytes are
// the same either way.

const packr = new Packr({ useRecords: false, int64AsType: "bigint" });

/**
 * Containers this deep (the command is depth 0) are walked: a map key by key, an array in
 * batches of elements. Depth 1 covers Checks, Ops, Coordinates, Node and Service.
 */
const WALK_DEPTH = 1;

/** Commands with at least this many elements in their walked containers encode in slices. */
export const WIDE_COMMAND_ELEMENTS = 256;

export function encodeCommand(cmd: Command): Uint8Array {
  return packr.pack(cmd);
}

export function decodeCommand(data: Uint8Array): Command {
  return packr.unpack(asBuffer(data)) as Command;
}

/**
 * Whether a command is wide enough to be worth encoding in slices (a few property reads for the
 * usual one): many elements, or a large byte string (a snapshot restore's state).
 */
export function isWideCommand(cmd: Command): boolean {
  if (cmd.Type === "snapshot-restore" && cmd.Data.byteLength >= LARGE_BINARY_BYTES) return true;
  return countWalkedElements(cmd, WALK_DEPTH, WIDE_COMMAND_ELEMENTS) >= WIDE_COMMAND_ELEMENTS;
}

/** Encodes `cmd` to the very bytes encodeCommand writes, pausing between batches of elements. */
export function encodeCommandSlices(cmd: Command): SlicedWork<Uint8Array> {
  return packSlices(packr, cmd, WALK_DEPTH);
}

/** Decodes entry bytes to what decodeCommand returns, pausing between batches of elements. */
export function* decodeCommandSlices(data: Uint8Array): SlicedWork<Command> {
  return (yield* unpackSlices(packr, asBuffer(data), WALK_DEPTH)) as Command;
}

/** UTF-8 of U+FFFD, what a lone surrogate in a long string becomes. */
const REPLACEMENT_CHARACTER = Buffer.from([0xef, 0xbf, 0xbd]);
/** Lead byte of U+D000-U+DFFF: a lone surrogate in a short string is written as ED A0-BF xx. */
const SURROGATE_LEAD_BYTE = 0xed;

/**
 * What decodeCommand(bytes) would return, bytes being encodeCommand(cmd), built by copying
 * `cmd` instead of decoding — or undefined when a copy might differ from the decoded value.
 * Judged conservatively: only plain objects, arrays, strings, finite numbers other than -0
 * (written as the integer 0), booleans, null and undefined; no key "__proto__" (read back as
 * "__proto_"); no string with a lone surrogate (read back as U+FFFD), which the bytes show —
 * along with some valid characters (U+D000-U+D7FF, U+FFFD itself), for which this gives up
 * too. Bigints and byte strings are refused: how they come back depends on their size and on
 * the reader. Like a decoded value, the copy shares nothing with `cmd`, so the state never
 * holds objects its proposer still holds. A few µs for a catalog registration, against ~10 µs
 * to decode it.
 */
export function decodedCopy(cmd: Command, bytes: Uint8Array): Command | undefined {
  // The walk first: it gives up at the first byte string, before two scans of the whole entry
  // (~0.4 ms for a 512 KiB txn of values, in the turn that proposes it).
  const copy = plainCopy(cmd, 0, undefined, true);
  if (copy === NOT_PLAIN) return undefined;
  const b = asBuffer(bytes);
  if (b.includes(SURROGATE_LEAD_BYTE) || b.includes(REPLACEMENT_CHARACTER)) return undefined;
  return copy as Command;
}

/**
 * What decodeCommand(encodeCommand(cmd)) would return, found without encoding at all, for a
 * proposer that needs no bytes (a lone voter in memory: nobody else reads its log). The rules
 * of decodedCopy, with the strings judged themselves instead of through the bytes: none may
 * hold a surrogate code unit (a lone one comes back as U+FFFD; pairs are refused too, to keep
 * it simple). And the bytes it stands for must stay under `maxBytes` (counted from above:
 * three per code unit, nine per scalar, five per header) — a larger entry is decoded and
 * prepared in slices, which needs its bytes. Undefined otherwise.
 */
export function localCopy(cmd: Command, maxBytes: number): Command | undefined {
  const copy = plainCopy(cmd, 0, { left: maxBytes }, true);
  return copy === NOT_PLAIN ? undefined : (copy as Command);
}

/**
 * localCopy's verdict without the copy, for a command its proposer hands over (keeps nothing
 * of it and never reads it again, as a command just decoded from a request body): `cmd` itself
 * where localCopy would give a copy — equal to it, so equal to the decoded value — else
 * undefined. Copying a catalog registration was ~4 µs and its garbage.
 */
export function localStandIn(cmd: Command, maxBytes: number): Command | undefined {
  return plainCopy(cmd, 0, { left: maxBytes }, false) === NOT_PLAIN ? undefined : cmd;
}

const NOT_PLAIN: unique symbol = Symbol("not plain");
const SURROGATE = /[\ud800-\udfff]/;
/** At most what msgpack spends on a string's, map's or array's header, and on any scalar. */
const HEADER_BYTES = 5;
const SCALAR_BYTES = 9;

/** Bytes still allowed for a copy that stands for bytes never written (localCopy). */
interface ByteBudget {
  left: number;
}

/** Strings up to this long are scanned by hand: cheaper than a RegExp call on short ones. */
const SHORT_STRING = 64;

function admits(text: string, budget: ByteBudget): boolean {
  const n = text.length;
  budget.left -= 3 * n + HEADER_BYTES;
  if (budget.left < 0) return false;
  if (n > SHORT_STRING) return !SURROGATE.test(text);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return false;
  }
  return true;
}

/**
 * A plain copy of `value` (`copying`), or `value` itself once the same walk found it plain
 * (not `copying`: the verdict alone); NOT_PLAIN where a copy could differ from the decoded value.
 */
function plainCopy(value: unknown, depth: number, budget: ByteBudget | undefined, copying: boolean): unknown {
  switch (typeof value) {
    case "string":
      return budget === undefined || admits(value, budget) ? value : NOT_PLAIN;
    case "boolean":
    case "undefined":
      if (budget !== undefined && (budget.left -= SCALAR_BYTES) < 0) return NOT_PLAIN;
      return value;
    case "number":
      if (budget !== undefined && (budget.left -= SCALAR_BYTES) < 0) return NOT_PLAIN;
      return Number.isFinite(value) && !Object.is(value, -0) ? value : NOT_PLAIN;
    case "object": {
      if (value === null) return budget !== undefined && (budget.left -= SCALAR_BYTES) < 0 ? NOT_PLAIN : null;
      if (depth > 64) return NOT_PLAIN;
      if (budget !== undefined && (budget.left -= HEADER_BYTES) < 0) return NOT_PLAIN;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto === Array.prototype) {
        const list = value as unknown[];
        const out: unknown[] | undefined = copying ? new Array<unknown>(list.length) : undefined;
        for (let i = 0; i < list.length; i++) {
          if (!(i in list)) return NOT_PLAIN;
          const v = plainCopy(list[i], depth + 1, budget, copying);
          if (v === NOT_PLAIN) return NOT_PLAIN;
          if (out !== undefined) out[i] = v;
        }
        return out ?? value;
      }
      if (proto !== Object.prototype) return NOT_PLAIN;
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> | undefined = copying ? {} : undefined;
      // Own enumerable string keys, as for-in with hasOwn gave, from V8's enum cache.
      const keys = Object.keys(record);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        if (key === "__proto__" || (budget !== undefined && !admits(key, budget))) return NOT_PLAIN;
        const v = plainCopy(record[key], depth + 1, budget, copying);
        if (v === NOT_PLAIN) return NOT_PLAIN;
        if (out !== undefined) out[key] = v;
      }
      return out ?? value;
    }
    default:
      return NOT_PLAIN;
  }
}

/**
 * msgpackr hands back byte fields in the class of its input; the state machine stores KV
 * values as Buffers, so read through a Buffer view whatever the log or transport gave us.
 */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
