import type { QueryResultNode } from "../../server/prepared-query-execute.ts";
import { healthEntryView } from "./health-entry.ts";
import { writeHealthEntry } from "./health-entry-bytes.ts";
import { InstanceFragments, type InstanceFragment } from "./instance-fragments.ts";

// The body of an execute answer: Consul's PreparedQueryExecuteResponse (Service, Nodes, DNS,
// Datacenter, PeerName, Failovers and the QueryMeta fields inline). Nodes are health entries
// encoded once per instance and reused while the instance's rows are unchanged (the same
// materialised entries as /v1/health/service), so an execute costs a filter, a shuffle and a
// concatenation rather than encoding every entry again.

const fragments = new InstanceFragments(
  (node, service, checks) => healthEntryView(node, service, checks ?? []),
  (node, service, checks, pretty, into) => writeHealthEntry(node, service, checks ?? [], pretty, into),
);
/** Pretty entries re-indented one level deeper (they sit inside the answer object). */
const nestedPretty = new WeakMap<InstanceFragment, Buffer>();
const NODES_MARK = JSON.stringify("\u0000nodes\u0000");

const OPEN_PRETTY = Buffer.from("[\n");
const SEP_PRETTY = Buffer.from(",\n");
const CLOSE_PRETTY = Buffer.from("\n    ]");
const OPEN = Buffer.from("[");
const SEP = Buffer.from(",");
const CLOSE = Buffer.from("]");
const EMPTY = Buffer.from("[]");

function entryBytes(n: QueryResultNode, pretty: boolean): Buffer {
  const f = fragments.fragment(n.Node, n.Service, n.Checks);
  if (!pretty) return fragments.encoded(f, false);
  let nested = nestedPretty.get(f);
  if (nested === undefined) {
    // JSON strings hold no raw newlines, so every newline starts a line to indent.
    nested = Buffer.from(`    ${fragments.encoded(f, true).toString().replaceAll("\n", "\n    ")}`);
    nestedPretty.set(f, nested);
  }
  return nested;
}

/** The answer's bytes, exactly what encoding the whole object would give (Go's MarshalIndent when pretty). */
export function encodeExecuteAnswer(fields: Record<string, unknown>, nodes: readonly QueryResultNode[], pretty: boolean): Buffer {
  const shell = JSON.stringify({ ...fields, Nodes: JSON.parse(NODES_MARK) as string }, null, pretty ? 4 : undefined) + (pretty ? "\n" : "");
  const at = shell.indexOf(NODES_MARK);
  const parts: Buffer[] = [Buffer.from(shell.slice(0, at))];
  if (nodes.length === 0) parts.push(EMPTY);
  else {
    parts.push(pretty ? OPEN_PRETTY : OPEN);
    nodes.forEach((n, i) => {
      if (i > 0) parts.push(pretty ? SEP_PRETTY : SEP);
      parts.push(entryBytes(n, pretty));
    });
    parts.push(pretty ? CLOSE_PRETTY : CLOSE);
  }
  parts.push(Buffer.from(shell.slice(at + NODES_MARK.length)));
  return Buffer.concat(parts);
}
