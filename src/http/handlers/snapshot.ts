import { Packr } from "msgpackr";
import { ConsulError, errors } from "../../errors/catalog.ts";
import { MAX_ENTRY_DATA_BYTES } from "../../raft/messages.ts";
import { prepareRestore, serializeStateSlices, type PreparedRestore } from "../../state/snapshot.ts";
import { runSliced } from "../../runtime/sliced-work.ts";
import {
  readSnapshotArchiveStream,
  snapshotArchiveStream,
  SnapshotArchiveError,
  SnapshotTooLargeError,
  type SnapshotMeta,
} from "../../storage/snapshot-archive.ts";
import type { Handler, HttpContext } from "../context.ts";
import { awaitLeaderUnlessStale, metaHeaders, queryOptions } from "../read.ts";
import { text } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// /v1/snapshot: spec/operator-snapshot-query.md §4. Save archives the whole state as it is
// between two applies (the tables are listed in one turn and rows are never changed in place,
// so the slices that encode them afterwards see no later write) and streams the
// archive out as it is compressed; restore reads the archive as it arrives (gunzip, tar and
// SHA-256 incrementally), then replaces the state through consensus so every server applies
// it at the same index. Nothing is proposed unless the whole archive verified.

const SNAPSHOT_META_VERSION = 1;
/**
 * The restored state travels as one Raft entry (inside a msgpack command a little larger than
 * the state), so it must leave room under the entry limit every server enforces.
 */
const MAX_RESTORE_STATE_BYTES = MAX_ENTRY_DATA_BYTES - 1024 * 1024;
/** Compressed bytes a restore reads before refusing (413); also the route's body cap. */
export const SNAPSHOT_ARCHIVE_MAX_BYTES = 1024 * 1024 * 1024;
const packr = new Packr({ useRecords: false });

const save: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("snapshot");
  const opts = queryOptions(ctx, req);
  // Held through an election like every other read; "No cluster leader" once the hold is over.
  await awaitLeaderUnlessStale(ctx, opts);
  // The tables are listed in this turn (the state as of `index`), then encoded in slices.
  const index = ctx.state.lastIndex;
  const state = await runSliced(serializeStateSlices(ctx.state));
  return {
    kind: "stream",
    status: 200,
    body: snapshotArchiveStream({ meta: snapshotMeta(ctx, index, state.length), state }, ctx.clock.now()),
    contentType: "application/x-gzip",
    headers: metaHeaders(ctx, opts, index),
  };
};

const restore: Handler = async (ctx, req) => {
  requestAuthorizer(ctx, req).require("snapshot");
  queryOptions(ctx, req);
  // Forwarded requests (and the listener's buffered fallback) carry the archive whole.
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = req.bodyStream
    ? (req.bodyStream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>)
    : [req.body ?? Buffer.alloc(0)];
  let state: Uint8Array;
  let prepared: PreparedRestore;
  try {
    state = (await readSnapshotArchiveStream(source, { maxArchiveBytes: SNAPSHOT_ARCHIVE_MAX_BYTES, maxStateBytes: MAX_RESTORE_STATE_BYTES })).state;
    // Read it first: a state.bin we cannot read never enters the log (preparing loads every
    // table, so it throws whatever the restore's apply would).
    prepared = await runSliced(prepareRestore(state));
  } catch (err) {
    if (err instanceof ConsulError) throw err;
    if (err instanceof SnapshotTooLargeError) {
      if (err.what === "archive") throw errors.valueTooLarge(err.size, err.limit);
      throw errors.internal(`failed to restore snapshot: state of ${err.size} bytes exceeds the ${err.limit}-byte limit of one Raft entry`);
    }
    if (err instanceof SnapshotArchiveError) throw errors.internal(err.message);
    throw errors.internal(`failed to restore snapshot: ${err instanceof Error ? err.message : String(err)}`);
  }
  const data = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
  // This server's apply takes what was just read instead of reading the entry's copy again.
  const withdraw = ctx.restoreReadAhead?.offer(data, prepared);
  let outcome: Awaited<ReturnType<typeof ctx.consensus.propose>>;
  try {
    outcome = await ctx.consensus.propose({ Type: "snapshot-restore", Data: data });
  } finally {
    withdraw?.();
  }
  const { index, result } = outcome;
  if (!result.ok) throw errors.internal(result.error);
  // hashicorp/raft's wording for a user restore; an operator sees when the state was replaced.
  ctx.logger.named("raft").info("restored user snapshot", { index, bytes: state.byteLength });
  return text("", 200);
};

/** Raft snapshot metadata for an archive of the state at `index`, as hashicorp/raft records it. */
function snapshotMeta(ctx: HttpContext, index: number, size: number): SnapshotMeta {
  const raft = ctx.raft;
  const term = raft ? raft.node.term() : 1;
  const servers = raft
    ? raft.configuration().voters.map((p) => ({ Suffrage: 0, ID: p.id, Address: p.address }))
    : [{ Suffrage: 0, ID: ctx.agent.identity.nodeId, Address: ctx.consensus.leaderAddress() }];
  return {
    Version: SNAPSHOT_META_VERSION,
    ID: `${term}-${index}-${ctx.clock.now()}`,
    Index: index,
    Term: term,
    // Protocol < 3 peer list: the msgpack'd server addresses, base64 in JSON.
    Peers: Buffer.from(packr.pack(servers.map((s) => s.Address))).toString("base64"),
    Configuration: { Servers: servers },
    ConfigurationIndex: 0,
    Size: size,
  };
}

export const snapshotHandlers = { save, restore } satisfies Record<string, Handler>;
