import { createHash } from "node:crypto";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";
import { RESERVED_ID_PREFIX } from "./builtin.ts";

// IDs, times and content hashes of ACL objects, in the shapes Consul's JSON carries them.

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(s: string): boolean {
  return UUID.test(s);
}

export function isReservedId(s: string): boolean {
  return s.startsWith(RESERVED_ID_PREFIX);
}

/** A generated ID never falls in the reserved built-in range. */
export function newObjectId(uuid: () => string): string {
  for (;;) {
    const id = uuid();
    if (!isReservedId(id)) return id;
  }
}

/** Go's time.Time JSON form (RFC 3339 with the fraction's trailing zeros trimmed), in UTC. */
export function formatGoTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.120Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === "" ? "Z" : `.${frac}Z`));
}

/**
 * The content hash clients see as `Hash` (base64). Consul uses BLAKE2b-256 over the same
 * fields; only equality matters (replication skips unchanged objects), so SHA-256 serves.
 */
export function contentHash(parts: Iterable<string>): string {
  return runWhole(contentHashSteps(parts, 0));
}

/** contentHash as sliced work, pausing every `partsPerStep` parts (never when 0). */
export function* contentHashSteps(parts: Iterable<string>, partsPerStep: number): SlicedWork<string> {
  const h = createHash("sha256");
  let sincePause = 0;
  for (const p of parts) {
    h.update(p).update("\0");
    if (partsPerStep > 0 && ++sincePause >= partsPerStep) {
      sincePause = 0;
      yield;
    }
  }
  return h.digest("base64");
}
