import { requestWork } from "../../runtime/cooperative-scheduler.ts";
import type { SlicedWork } from "../../runtime/sliced-work.ts";
import type { ServiceInstance } from "../../state/catalog-tables.ts";
import type { WatchSet } from "../../state/watch.ts";
import type { ApiRequest, HttpContext, Reply } from "../context.ts";
import type { QueryOptions } from "../query.ts";
import { blockingRead } from "../read.ts";
import { encodedBody, memoFor, type EncodedMemo, type MemoEntry } from "../views/encoded-memo.ts";
import { selectInstances, wantsPretty } from "./catalog-query.ts";
import type { Authorizer } from "../../acl/authorizer.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";
import { json } from "../reply.ts";
import { keepVisible } from "./acl-catalog-filter.ts";
import { assembleList, encodedListLength, InstanceFragments, listPieces, unencodedCount, type EntryRenderer, type EntryWriter, type InstanceFragment } from "../views/instance-fragments.ts";
import { RetainedPieces } from "../views/retained-pieces.ts";
import { scheduledBody } from "../scheduled-body.ts";

// The reads that list one service's instances (/catalog/service, /catalog/connect,
// /health/service, /health/connect) are the API's hot path: watchers and scrapers repeat the
// same query at the same index. Each answer is memoised with its encoded body per (query,
// index, table generation, coordinates), so a repeat costs a lookup and a socket write.

/** One request for a service's instances, with the parameters every such endpoint shares. */
export interface InstanceListRequest {
  ctx: HttpContext;
  req: ApiRequest;
  opts: QueryOptions;
  name: string;
  /** Lower-cased `?tag` values. */
  tags: string[];
  /** The `?near` node, `_agent` already resolved; "" when absent. */
  source: string;
}

/**
 * What one endpoint adds to the shared read. Endpoints are module-level objects, not closures,
 * so a request allocates nothing for them.
 */
export interface InstanceListEndpoint<R extends InstanceListRequest, T> {
  /** Memos per agent state, owned by this endpoint alone. */
  readonly memos: WeakMap<object, EncodedMemo<T[]>>;
  /** Watches everything the answer depends on and returns its index. */
  index(r: R, ws: WatchSet): number;
  /** Builds the items when the memo misses; runs right after `index` in the same evaluation. */
  build(r: R, ws: WatchSet): T[];
  /** When set, reads without `?filter` and `?near` are answered from per-instance entries. */
  readonly materialised?: MaterialisedList<R>;
}

/**
 * A per-service materialised view (see views/instance-fragments.ts) for the reads whose
 * entries do not depend on the request: `?tag`, `?node-meta` and `keep` (e.g. `?passing`) only
 * choose which entries are in the answer.
 */
export interface MaterialisedList<R extends InstanceListRequest> {
  /** Entry caches and answer memos per agent state, owned by this endpoint alone. */
  readonly caches: WeakMap<object, InstanceFragments>;
  readonly memos: WeakMap<object, EncodedMemo<InstanceFragment[]>>;
  readonly render: EntryRenderer;
  /** Writes an entry's bytes without building its value, when the endpoint has such a writer. */
  readonly write?: EntryWriter;
  /** Whether an entry includes the instance's checks (health answers). */
  readonly withChecks: boolean;
  keep(r: R, entry: InstanceFragment): boolean;
}

/** The endpoint over the instances registered under the name itself (not connect's). */
export function instancesOfName<R extends InstanceListRequest, T>(
  views: (r: R, instances: ServiceInstance[]) => T[],
  materialised?: MaterialisedList<R>,
): InstanceListEndpoint<R, T> {
  return {
    memos: new WeakMap(),
    index: (r, ws) => r.ctx.state.catalog.serviceNameIndex(r.name, ws),
    build: (r, ws) => views(r, r.ctx.state.catalog.serviceInstances(r.name, ws)),
    materialised,
  };
}

/**
 * Answers above one piece are handed to the socket in pieces through the request-work
 * scheduler (http/scheduled-body.ts): one write of a 1 MB answer on loopback holds the loop
 * for the kernel's copy and the receiver's wake-up, and eight readers doing that in one poll
 * phase held it for tens of milliseconds.
 */
const PIECE_BYTES = 256 * 1024;
/**
 * Answers up to this size are written at once, in the poll phase; bigger ones wait for a step
 * of the scheduler (eight readers each writing a 200 KB answer in one poll phase were most of a
 * loaded leader's turn, ahead of the Raft acknowledgements that arrived in the same phase).
 */
const DIRECT_BYTES = 64 * 1024;
/** The pieces of memoised answers, one store per spelling. */
const retainedPretty = new RetainedPieces();
const retainedCompact = new RetainedPieces();

/**
 * A list with more entries than this still to encode is sent while they are encoded, chunked
 * (its length is not known before); fewer are encoded at once, in the answer's turn.
 */
const STREAM_UNENCODED_MIN = 64;
/** Entries encoded per scheduler step of a streamed answer, as the cold gather did. */
const ENCODE_PER_STEP = 8;
/**
 * Encoded bytes a streamed answer may hold ahead of its socket: the next pieces are encoded
 * while the last ones are being sent (without it, encoding waited for each 'drain').
 */
const STREAM_READ_AHEAD_BYTES = 4 * PIECE_BYTES;

function listReply(cache: InstanceFragments, entry: MemoEntry<InstanceFragment[]>, pretty: boolean, memoised: boolean, headers?: Record<string, string>): Reply {
  if ((pretty ? entry.prettyLength : entry.compactLength) === undefined && unencodedCount(entry.items, pretty) > STREAM_UNENCODED_MIN) {
    // A cold answer: its entries are encoded as the pieces are pulled, so the socket (the
    // kernel's copy, the client's reads) works on the first pieces while later entries are
    // still being encoded, instead of after all of them. Without a Content-Length Node frames
    // it chunked, as Consul's Go server does for any answer bigger than its write buffer. The
    // entries are the gathered rows (immutable), so the bytes are those of the answer's index
    // whatever is written meanwhile. The next reader at this index gets the kept pieces.
    const retained = pretty ? retainedPretty : retainedCompact;
    const body = scheduledBody(listPieces(cache, entry.items, pretty, PIECE_BYTES, ENCODE_PER_STEP), memoised ? (pieces) => retained.put(entry, pieces) : undefined, STREAM_READ_AHEAD_BYTES);
    return { kind: "stream", status: 200, contentType: "application/json", body, headers };
  }
  const length = pretty ? (entry.prettyLength ??= encodedListLength(cache, entry.items, true)) : (entry.compactLength ??= encodedListLength(cache, entry.items, false));
  if (length <= PIECE_BYTES) {
    const encoded = pretty ? (entry.pretty ??= assembleList(cache, entry.items, true)) : (entry.compact ??= assembleList(cache, entry.items, false));
    if (length <= DIRECT_BYTES) return { kind: "json", status: 200, value: null, encoded, headers };
    return { kind: "stream", status: 200, contentType: "application/json", body: scheduledBody([[encoded]][Symbol.iterator]()), headers: { ...headers, "Content-Length": String(length) } };
  }
  // Same bytes and length as the one-piece answer; pieces are put together as the socket
  // drains, and entries are immutable once encoded, so a later write cannot change them. A
  // memoised answer keeps its pieces (bounded over all answers) for the next reader.
  const retained = pretty ? retainedPretty : retainedCompact;
  const kept = memoised ? retained.get(entry) : undefined;
  const body = kept
    ? scheduledBody(kept[Symbol.iterator]())
    : scheduledBody(listPieces(cache, entry.items, pretty, PIECE_BYTES), memoised ? (pieces) => retained.put(entry, pieces) : undefined);
  return { kind: "stream", status: 200, contentType: "application/json", body, headers: { ...headers, "Content-Length": String(length) } };
}

/**
 * The memo holds the unfiltered entries; a token sees those of nodes it may read and services
 * it may read (what canSeeHealthEntry and canSeeServiceNode decide on the built views).
 */
function visibleEntries(ctx: HttpContext, req: ApiRequest, entry: MemoEntry<InstanceFragment[]>): { entry: MemoEntry<InstanceFragment[]>; headers?: Record<string, string> } {
  if (!ctx.acl) return { entry };
  const authz = requestAuthorizer(ctx, req);
  const kept = entry.items.filter((f) => authz.allowed("node:read", f.node.Node) && authz.allowed("service:read", f.service.Service));
  if (kept.length === entry.items.length) return { entry };
  return { entry: { version: entry.version, items: kept }, headers: filteredHeaders(authz, true) };
}

/**
 * Runs the blocking read for `r`. `variant` carries the endpoint's own answer-shaping
 * parameters (e.g. `?passing`); the shared ones are keyed here.
 */
export function instanceListRead<R extends InstanceListRequest, T>(
  r: R,
  endpoint: InstanceListEndpoint<R, T>,
  variant: string,
  visible?: (authz: Authorizer, item: T) => boolean,
): Reply | Promise<Reply> {
  const { ctx, req, opts, source } = r;
  if (endpoint.materialised && (!ctx.acl || visible) && source === "" && opts.filter.trim() === "") return materialisedRead(r, endpoint, endpoint.materialised, variant);
  const cat = ctx.state.catalog;
  const memo = memoFor(endpoint.memos, cat);
  const memoKey = [r.name.toLowerCase(), variant, r.tags.join(","), opts.nodeMeta.length > 0 ? JSON.stringify(opts.nodeMeta) : "", opts.filter, source].join("\u0000");
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = endpoint.index(r, ws);
      if (source) ctx.state.coordinates.get(source, ws);
      const version = `${cat.generation}:${index}:${source ? ctx.state.coordinates.tableIndex : 0}`;
      const hit = memo.get(memoKey, version);
      if (hit) return { index, value: hit };
      return { index, value: memo.set(memoKey, version, endpoint.build(r, ws)) };
    },
    (entry): Reply => {
      // The memo holds the unfiltered answer; ACL filtering happens per request, after it.
      if (ctx.acl && visible) {
        const authz = requestAuthorizer(ctx, req);
        const { kept, removed } = keepVisible(authz, entry.items, visible);
        if (removed) return json(kept, 200, filteredHeaders(authz, true));
      }
      return { kind: "json", status: 200, value: entry.items, encoded: encodedBody(entry, wantsPretty(ctx, req.query)) };
    },
  );
}

function fragmentsFor<R extends InstanceListRequest>(spec: MaterialisedList<R>, owner: object): InstanceFragments {
  let cache = spec.caches.get(owner);
  if (!cache) {
    cache = new InstanceFragments(spec.render, spec.write);
    spec.caches.set(owner, cache);
  }
  return cache;
}

/**
 * The answer from the materialised view. The instances' entries (rows and check lists) are
 * gathered first, in slices that yield to the event loop (a cold 10,000-instance service must
 * not stop Raft heartbeats or other requests); the blocking read then finds them memoised. An
 * answer with many entries not yet encoded encodes them while it is sent, also in slices
 * (listReply); one with a few encodes those at once.
 */
async function materialisedRead<R extends InstanceListRequest, T>(
  r: R,
  endpoint: InstanceListEndpoint<R, T>,
  spec: MaterialisedList<R>,
  variant: string,
): Promise<Reply> {
  const { ctx, req, opts } = r;
  const cat = ctx.state.catalog;
  const cache = fragmentsFor(spec, cat);
  const memo = memoFor(spec.memos, cat);
  const pretty = wantsPretty(ctx, req.query);
  const memoKey = [r.name.toLowerCase(), variant, r.tags.join(","), opts.nodeMeta.length > 0 ? JSON.stringify(opts.nodeMeta) : ""].join("\u0000");
  const memoVersion = (index: number): string => `${cat.generation}:${index}`;
  const versionNow = (): string => memoVersion(cat.serviceNameIndex(r.name));
  const startVersion = versionNow();
  if (!memo.get(memoKey, startVersion)) {
    // Readers arriving while a gather for the same answer and index runs wait for that one:
    // after a write, eight heavy readers would otherwise each walk the 10,000 instances.
    const inFlight = gathersFor(cache);
    // Rows only: the entries are encoded while the answer streams (listReply), so both
    // spellings share a gather.
    const gatherKey = `${memoKey}\u0000${startVersion}`;
    let gathering = inFlight.get(gatherKey);
    if (!gathering) {
      gathering = requestWork.runSliced(gatherEntries(r, spec, cache)).finally(() => inFlight.delete(gatherKey));
      inFlight.set(gatherKey, gathering);
    }
    const entries = await gathering;
    // Unchanged meanwhile (any write touching these rows moves the name's index): the blocking
    // read below finds the answer ready; otherwise it gathers again, re-encoding what changed.
    // (Set once: a second reader of the same gather keeps the first one's entry and pieces.)
    if (versionNow() === startVersion && !memo.get(memoKey, startVersion)) memo.set(memoKey, startVersion, entries);
  }
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const index = endpoint.index(r, ws);
      const version = memoVersion(index);
      const hit = memo.get(memoKey, version);
      if (hit) return { index, value: hit };
      const entries: InstanceFragment[] = [];
      for (const { node, service } of selectInstances(cat.serviceInstances(r.name, ws), r.tags, opts.nodeMeta)) {
        const entry = cache.fragment(node, service, spec.withChecks ? cat.instanceChecks(node.Node, service.ID) : undefined);
        if (spec.keep(r, entry)) entries.push(entry);
      }
      return { index, value: memo.set(memoKey, version, entries) };
    },
    (entry) => {
      const seen = visibleEntries(ctx, req, entry);
      return listReply(cache, seen.entry, pretty, seen.entry === entry, seen.headers);
    },
  );
}

/** Gathers in progress per entry cache, by answer, index and spelling. */
const gathers = new WeakMap<InstanceFragments, Map<string, Promise<InstanceFragment[]>>>();

function gathersFor(cache: InstanceFragments): Map<string, Promise<InstanceFragment[]>> {
  let m = gathers.get(cache);
  if (!m) {
    m = new Map();
    gathers.set(cache, m);
  }
  return m;
}

/**
 * The entries of the answer (rows and check lists, not yet encoded: the answer encodes them as
 * it streams, listReply); pauses every few entries so the request-work scheduler can spread a
 * cold 10,000-instance service over many turns.
 */
function* gatherEntries<R extends InstanceListRequest>(r: R, spec: MaterialisedList<R>, cache: InstanceFragments): SlicedWork<InstanceFragment[]> {
  const { ctx, opts } = r;
  const cat = ctx.state.catalog;
  // A fresh array (serviceInstances builds one per call), so its slots can be let go.
  const instances: (ServiceInstance | undefined)[] = selectInstances(cat.serviceInstances(r.name), r.tags, opts.nodeMeta);
  const entries: InstanceFragment[] = [];
  for (let i = 0; i < instances.length; i++) {
    if ((i & 7) === 7) yield;
    // Rows read before a pause may have been replaced since; the caller then discards the list.
    const instance = instances[i];
    if (!instance) continue;
    // Dropped once used: the gather spans many turns, and the pairs not yet reached would
    // otherwise all be copied by every scavenge in between (issue 17, S4: survivors).
    instances[i] = undefined;
    const { node, service } = instance;
    const entry = cache.fragment(node, service, spec.withChecks ? cat.instanceChecks(node.Node, service.ID) : undefined);
    if (!spec.keep(r, entry)) continue;
    entries.push(entry);
  }
  return entries;
}
