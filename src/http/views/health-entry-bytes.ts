import type { HealthCheck, Node, NodeService } from "../../model/catalog.ts";
import { JsonBytes, type ByteSpan } from "./json-bytes.ts";
import { closeAt, COMPACT, isPlainObject, listSeparator, memberKey, PRETTY, stringifiedAt, type JsonSpelling } from "./json-spelling.ts";
import { weightsView } from "./node-service.ts";
import { connectView, proxyView } from "./service-proxy.ts";

// A health entry's bytes written straight from its rows: the same bytes as encoding
// healthEntryView(node, service, checks) as an element of the answer's array, with the field
// order and omissions of views/node.ts, node-service.ts and health-check.ts, but without
// building the view objects, without JSON.stringify's generic walk and without a JS string to
// transcode (a cold 10,000-instance answer is 16 MB of these; issue 17, S4). A row outside the
// shape those views assume (a field missing, a number where a string belongs) is not written
// here: the caller then encodes the view, so an odd row costs time, never fidelity. The test
// in test/unit/http/health-entry-bytes.test.ts holds the two to the same bytes.

// Depths in the answer: the entry's brace sits at 1 (an element of the top-level array), its
// members at 2; the Node and Service members' fields at 3; each check's brace at 3, fields at 4.
const ENTRY_DEPTH = 1;
const PART_DEPTH = 2;
const FIELD_DEPTH = 3;
const CHECK_DEPTH = 3;
const CHECK_FIELD_DEPTH = 4;

/** The constant bytes between values, for one spelling; `_` keys have no comma before them. */
interface EntryBytes {
  readonly sp: JsonSpelling;
  readonly nodeOpen: Buffer;
  readonly node: Record<"Node" | "Address" | "Datacenter" | "TaggedAddresses" | "Meta" | "CreateIndex" | "ModifyIndex", Buffer>;
  readonly serviceOpen: Buffer;
  readonly service: Record<
    | "_Kind"
    | "_ID"
    | "ID"
    | "Service"
    | "Tags"
    | "Address"
    | "TaggedAddresses"
    | "Meta"
    | "Port"
    | "SocketPath"
    | "Weights"
    | "EnableTagOverride"
    | "Proxy"
    | "Connect"
    | "PeerName"
    | "CreateIndex"
    | "ModifyIndex",
    Buffer
  >;
  readonly checksOpen: Buffer;
  readonly noChecks: Buffer;
  /** Before the first check's Node value. */
  readonly firstCheck: Buffer;
  readonly check: Record<
    | "CheckID"
    | "Name"
    | "Status"
    | "Notes"
    | "Output"
    | "ServiceID"
    | "ServiceName"
    | "ServiceTags"
    | "Type"
    | "Interval"
    | "Timeout"
    | "ExposedPort"
    | "Definition"
    | "CreateIndex"
    | "ModifyIndex",
    Buffer
  >;
  /** A check's end and the next check's start up to its Node value; the last check's end and the list's. */
  readonly checkThenNext: Buffer;
  readonly lastCheckClose: Buffer;
  /**
   * Precomputed runs for the values nearly every row has (issue 17, S4: written member by
   * member, each a key copy and a generic walk of a small object): a plain service's members
   * from Weights up to PeerName's value, by EnableTagOverride; a check's empty Definition
   * with the next key.
   */
  readonly plainServiceTail: Buffer;
  readonly plainServiceTailOverride: Buffer;
  readonly emptyDefinition: Buffer;
}

function members<K extends string>(sp: JsonSpelling, depth: number, names: readonly K[]): Record<K, Buffer> {
  const out = {} as Record<K, Buffer>;
  for (const name of names) out[name] = Buffer.from(name.startsWith("_") ? memberKey(sp, depth, name.slice(1)) : `,${memberKey(sp, depth, name)}`);
  return out;
}

function entryBytes(sp: JsonSpelling): EntryBytes {
  const entryOpen = `${sp.lines[ENTRY_DEPTH].slice(1)}{`;
  const partClose = closeAt(sp, PART_DEPTH, "}");
  return {
    sp,
    nodeOpen: Buffer.from(`${entryOpen}${memberKey(sp, PART_DEPTH, "Node")}{${memberKey(sp, FIELD_DEPTH, "ID")}`),
    node: members(sp, FIELD_DEPTH, ["Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex"] as const),
    serviceOpen: Buffer.from(`${partClose},${memberKey(sp, PART_DEPTH, "Service")}{`),
    service: members(sp, FIELD_DEPTH, [
      "_Kind",
      "_ID",
      "ID",
      "Service",
      "Tags",
      "Address",
      "TaggedAddresses",
      "Meta",
      "Port",
      "SocketPath",
      "Weights",
      "EnableTagOverride",
      "Proxy",
      "Connect",
      "PeerName",
      "CreateIndex",
      "ModifyIndex",
    ] as const),
    checksOpen: Buffer.from(`${partClose},${memberKey(sp, PART_DEPTH, "Checks")}`),
    noChecks: Buffer.from(`[]${closeAt(sp, ENTRY_DEPTH, "}")}`),
    firstCheck: Buffer.from(`[${sp.lines[CHECK_DEPTH]}{${memberKey(sp, CHECK_FIELD_DEPTH, "Node")}`),
    check: members(sp, CHECK_FIELD_DEPTH, [
      "CheckID",
      "Name",
      "Status",
      "Notes",
      "Output",
      "ServiceID",
      "ServiceName",
      "ServiceTags",
      "Type",
      "Interval",
      "Timeout",
      "ExposedPort",
      "Definition",
      "CreateIndex",
      "ModifyIndex",
    ] as const),
    checkThenNext: Buffer.from(`${closeAt(sp, CHECK_DEPTH, "}")},${sp.lines[CHECK_DEPTH]}{${memberKey(sp, CHECK_FIELD_DEPTH, "Node")}`),
    lastCheckClose: Buffer.from(`${closeAt(sp, CHECK_DEPTH, "}")}${closeAt(sp, PART_DEPTH, "]")}${closeAt(sp, ENTRY_DEPTH, "}")}`),
    plainServiceTail: Buffer.from(plainServiceTail(sp, false)),
    plainServiceTailOverride: Buffer.from(plainServiceTail(sp, true)),
    emptyDefinition: Buffer.from(`,${memberKey(sp, CHECK_FIELD_DEPTH, "Definition")}{},${memberKey(sp, CHECK_FIELD_DEPTH, "CreateIndex")}`),
  };
}

/** What the general path writes from `,"Weights": ` to `"PeerName": ` for a plain service. */
function plainServiceTail(sp: JsonSpelling, enableTagOverride: boolean): string {
  const member = (key: string, value: unknown): string => `,${memberKey(sp, FIELD_DEPTH, key)}${stringifiedAt(value, FIELD_DEPTH, sp)}`;
  return `${member("Weights", weightsView(undefined))}${member("EnableTagOverride", enableTagOverride)}${member("Proxy", proxyView(undefined))}${member("Connect", connectView(undefined))},${memberKey(sp, FIELD_DEPTH, "PeerName")}`;
}

/** A plain object with no own enumerable members (JSON.stringify writes `{}`). */
function isEmptyObject(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v) || !isPlainObject(v)) return false;
  for (const key in v) if (Object.hasOwn(v, key)) return false;
  return true;
}

/** Whether these members, in this order, are exactly the object's own enumerable ones. */
function hasExactly(o: Record<string, unknown>, first: string, second: string): boolean {
  let i = 0;
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue;
    if ((i === 0 && key !== first) || (i === 1 && key !== second) || i > 1) return false;
    i++;
  }
  return i === 2;
}

/** Weights written as the default's bytes: absent, or {Passing: 1, Warning: 1} in that order. */
function isDefaultWeights(w: unknown): boolean {
  if (w === undefined) return true;
  if (typeof w !== "object" || w === null || Array.isArray(w) || !isPlainObject(w)) return false;
  return w.Passing === 1 && w.Warning === 1 && hasExactly(w, "Passing", "Warning");
}

/** A Proxy written as a non-proxy's: absent, or only empty MeshGateway and Expose, in that order. */
function isPlainProxy(p: unknown): boolean {
  if (p === undefined) return true;
  if (typeof p !== "object" || p === null || Array.isArray(p) || !isPlainObject(p)) return false;
  return isEmptyObject(p.MeshGateway) && isEmptyObject(p.Expose) && hasExactly(p, "MeshGateway", "Expose");
}

const PRETTY_BYTES = entryBytes(PRETTY);
const COMPACT_BYTES = entryBytes(COMPACT);
/** One writer (and slab) per spelling, so entries written in a row share a list's separator. */
const prettyOut = new JsonBytes(Buffer.from(listSeparator(PRETTY)));
const compactOut = new JsonBytes(Buffer.from(listSeparator(COMPACT)));
/** The writer of the entry being written. */
let out = prettyOut;

function writeNode(n: Node, t: EntryBytes): void {
  const k = t.node;
  out.raw(t.nodeOpen);
  out.string(n.ID);
  out.raw(k.Node);
  out.string(n.Node);
  out.raw(k.Address);
  out.string(n.Address);
  out.raw(k.Datacenter);
  out.string(n.Datacenter);
  out.raw(k.TaggedAddresses);
  out.value(n.TaggedAddresses, FIELD_DEPTH, t.sp);
  out.raw(k.Meta);
  out.value(n.Meta, FIELD_DEPTH, t.sp);
  out.raw(k.CreateIndex);
  out.number(n.CreateIndex);
  out.raw(k.ModifyIndex);
  out.number(n.ModifyIndex);
}

function writeService(s: NodeService, t: EntryBytes): void {
  const k = t.service;
  const sp = t.sp;
  out.raw(t.serviceOpen);
  // Members in Consul's order; the omitempty ones only when set (as nodeServiceView).
  if (s.Kind) {
    out.raw(k._Kind);
    out.value(s.Kind, FIELD_DEPTH, sp);
    out.raw(k.ID);
  } else out.raw(k._ID);
  out.string(s.ID);
  out.raw(k.Service);
  out.string(s.Service);
  out.raw(k.Tags);
  out.strings(s.Tags ?? [], FIELD_DEPTH, sp);
  out.raw(k.Address);
  out.string(s.Address);
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length > 0) {
    out.raw(k.TaggedAddresses);
    out.value(s.TaggedAddresses, FIELD_DEPTH, sp);
  }
  out.raw(k.Meta);
  out.value(s.Meta, FIELD_DEPTH, sp);
  if (s.Port) {
    out.raw(k.Port);
    out.value(s.Port, FIELD_DEPTH, sp);
  }
  if (s.SocketPath) {
    out.raw(k.SocketPath);
    out.value(s.SocketPath, FIELD_DEPTH, sp);
  }
  if (isDefaultWeights(s.Weights) && typeof s.EnableTagOverride === "boolean" && isPlainProxy(s.Proxy) && (s.Connect === undefined || isEmptyObject(s.Connect))) {
    out.raw(s.EnableTagOverride ? t.plainServiceTailOverride : t.plainServiceTail);
  } else writeServiceExtras(s, t);
  out.string(s.PeerName ?? "");
  out.raw(k.CreateIndex);
  out.number(s.CreateIndex);
  out.raw(k.ModifyIndex);
  out.number(s.ModifyIndex);
}

/** The members from Weights up to PeerName's value, one by one (a proxy, custom weights…). */
function writeServiceExtras(s: NodeService, t: EntryBytes): void {
  const k = t.service;
  const sp = t.sp;
  out.raw(k.Weights);
  out.value(weightsView(s.Weights), FIELD_DEPTH, sp);
  out.raw(k.EnableTagOverride);
  out.boolean(s.EnableTagOverride);
  out.raw(k.Proxy);
  out.value(proxyView(s.Proxy), FIELD_DEPTH, sp);
  out.raw(k.Connect);
  out.value(connectView(s.Connect), FIELD_DEPTH, sp);
  out.raw(k.PeerName);
}

function writeCheck(c: HealthCheck, t: EntryBytes): void {
  const k = t.check;
  out.string(c.Node);
  out.raw(k.CheckID);
  out.string(c.CheckID);
  out.raw(k.Name);
  out.string(c.Name);
  out.raw(k.Status);
  out.string(c.Status);
  out.raw(k.Notes);
  out.string(c.Notes);
  out.raw(k.Output);
  out.string(c.Output);
  out.raw(k.ServiceID);
  out.string(c.ServiceID);
  out.raw(k.ServiceName);
  out.string(c.ServiceName);
  out.raw(k.ServiceTags);
  out.strings(c.ServiceTags ?? [], CHECK_FIELD_DEPTH, t.sp);
  out.raw(k.Type);
  out.string(c.Type);
  out.raw(k.Interval);
  out.string(c.Interval);
  out.raw(k.Timeout);
  out.string(c.Timeout);
  out.raw(k.ExposedPort);
  out.number(c.ExposedPort);
  if (c.Definition === undefined || isEmptyObject(c.Definition)) out.raw(t.emptyDefinition);
  else {
    out.raw(k.Definition);
    out.value(c.Definition ?? {}, CHECK_FIELD_DEPTH, t.sp);
    out.raw(k.CreateIndex);
  }
  out.number(c.CreateIndex);
  out.raw(k.ModifyIndex);
  out.number(c.ModifyIndex);
}

/**
 * The entry as an element of the answer's top-level array: exactly what JSON.stringify writes
 * for healthEntryView(node, service, checks) there (pretty: with the element's 4-space indent,
 * as views/instance-fragments.ts cuts it), as a Buffer of its own. Undefined when a row is
 * outside the views' shape.
 */
export function healthEntryElement(node: Node, service: NodeService, checks: readonly HealthCheck[], pretty: boolean): Buffer | undefined {
  const span: ByteSpan = { bytes: undefined, start: 0, end: 0 };
  return writeHealthEntry(node, service, checks, pretty, span) ? span.bytes?.subarray(span.start, span.end) : undefined;
}

/** Writes the entry healthEntryElement gives into its spelling's slab; `into` gets where it is. False when off shape. */
export function writeHealthEntry(node: Node, service: NodeService, checks: readonly HealthCheck[], pretty: boolean, into: ByteSpan): boolean {
  const t = pretty ? PRETTY_BYTES : COMPACT_BYTES;
  out = pretty ? prettyOut : compactOut;
  out.begin();
  writeNode(node, t);
  writeService(service, t);
  out.raw(t.checksOpen);
  if (checks.length === 0) out.raw(t.noChecks);
  else {
    out.raw(t.firstCheck);
    writeCheck(checks[0], t);
    for (let i = 1; i < checks.length; i++) {
      out.raw(t.checkThenNext);
      writeCheck(checks[i], t);
    }
    out.raw(t.lastCheckClose);
  }
  return out.take(into);
}
