import type { HealthCheck, Node, NodeService } from "../../model/catalog.ts";
import { allPassing } from "../../model/health-status.ts";

// A materialised view of one service's list answers (health/service, catalog/service), kept
// per instance: each instance's entry is encoded once and reused until one of the rows it was
// built from is replaced. Rows are immutable (every write stores a new object), so "still
// valid" is an identity check on the node and check rows, and a change to one instance of a
// 10,000-instance service re-encodes one entry; the answer is then a concatenation of bytes.
// Entries live as long as their service row (a WeakMap keyed by it): a deleted or replaced
// instance takes its encoding with it.

/** One instance's entry, encoded in the spellings asked for so far. */
export interface InstanceFragment {
  readonly node: Node;
  readonly service: NodeService;
  /** The checks the entry was built from (health answers), undefined for catalog answers. */
  readonly checks: readonly HealthCheck[] | undefined;
  /** Whether every check passes (`?passing`). */
  readonly passing: boolean;
  compact?: Buffer;
  pretty?: Buffer;
}

/** Builds the JSON value of one instance's entry. */
export type EntryRenderer = (node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined) => unknown;

export class InstanceFragments {
  readonly #byRow = new WeakMap<NodeService, InstanceFragment>();
  readonly #render: EntryRenderer;

  constructor(render: EntryRenderer) {
    this.#render = render;
  }

  /** The entry for this instance if one was built from exactly these rows. */
  current(node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined): InstanceFragment | undefined {
    const f = this.#byRow.get(service);
    return f && f.node === node && sameRows(f.checks, checks) ? f : undefined;
  }

  /** The current entry, built (unencoded) when missing or stale. */
  fragment(node: Node, service: NodeService, checks: readonly HealthCheck[] | undefined): InstanceFragment {
    const existing = this.current(node, service, checks);
    if (existing) return existing;
    const f: InstanceFragment = { node, service, checks, passing: checks === undefined || allPassing(checks) };
    this.#byRow.set(service, f);
    return f;
  }

  /** The entry's bytes in one spelling, encoded on first use. */
  encoded(f: InstanceFragment, pretty: boolean): Buffer {
    if (pretty) return (f.pretty ??= Buffer.from(prettyElement(this.#render(f.node, f.service, f.checks))));
    return (f.compact ??= Buffer.from(JSON.stringify(this.#render(f.node, f.service, f.checks))));
  }
}

/**
 * An array element exactly as JSON.stringify(array, null, 4) writes it (4-space indent, nested
 * one level): the array's own brackets and newlines are cut off the one-element rendering.
 */
function prettyElement(value: unknown): string {
  const one = JSON.stringify([value], null, 4);
  return one.slice(2, one.length - 2);
}

const OPEN_PRETTY = Buffer.from("[\n");
const CLOSE_PRETTY = Buffer.from("\n]\n");
const SEP_PRETTY = Buffer.from(",\n");
const OPEN_COMPACT = Buffer.from("[");
const CLOSE_COMPACT = Buffer.from("]");
const SEP_COMPACT = Buffer.from(",");
const EMPTY_PRETTY = Buffer.from("[]\n");
const EMPTY_COMPACT = Buffer.from("[]");

/**
 * The list answer for these entries, byte for byte what encodeJson gives for the array of
 * their values (pretty: 4-space indent and a trailing newline, as dev mode and ?pretty answer).
 */
export function assembleList(cache: InstanceFragments, fragments: readonly InstanceFragment[], pretty: boolean): Buffer {
  if (fragments.length === 0) return pretty ? EMPTY_PRETTY : EMPTY_COMPACT;
  const sep = pretty ? SEP_PRETTY : SEP_COMPACT;
  const parts: Buffer[] = new Array<Buffer>(fragments.length * 2 + 1);
  parts[0] = pretty ? OPEN_PRETTY : OPEN_COMPACT;
  let n = 1;
  for (let i = 0; i < fragments.length; i++) {
    if (i > 0) parts[n++] = sep;
    parts[n++] = cache.encoded(fragments[i], pretty);
  }
  parts[n++] = pretty ? CLOSE_PRETTY : CLOSE_COMPACT;
  parts.length = n;
  return Buffer.concat(parts);
}

function sameRows(a: readonly HealthCheck[] | undefined, b: readonly HealthCheck[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
