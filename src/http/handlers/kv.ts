import { errors } from "../../errors/catalog.ts";
import type { ApiRequest, Handler, Reply } from "../context.ts";
import { first, has, parseUint64 } from "../query.ts";
import { blockingRead, queryOptions, write } from "../read.ts";
import { json, text } from "../reply.ts";
import { encodeKvEntries } from "../views/kv-entry.ts";
import type { KVEntry } from "../../model/kv.ts";
import { wantsPretty } from "./catalog-query.ts";
import type { KvSetOp } from "../../fsm/command.ts";
import { filteredHeaders, requestAuthorizer } from "../request-authorizer.ts";

// /v1/kv/<key>: spec/kv.md. The key is the percent-decoded path after /v1/kv/, verbatim.

function checkKey(key: string, listing: boolean): void {
  if (key.startsWith("/")) throw errors.badRequest(`Invalid key. Key must not begin with a '/': ${key}`);
  if (key === "" && !listing) throw errors.missingKey();
}

// Not async: a read answered from memory goes back without a promise (see blockingRead).
const get: Handler = (ctx, req) => {
  const key = req.suffix;
  const q = req.query;
  const keysMode = has(q, "keys");
  const recurse = has(q, "recurse");
  checkKey(key, keysMode || recurse);
  const opts = queryOptions(ctx, req);
  const kv = ctx.state.kv;
  const authz = requestAuthorizer(ctx, req);

  // Lists are filtered key by key (key:read), never refused; a single key needs key:read.
  // With acl.enable_key_list_policy a list first needs key:list on the prefix, else Consul's
  // plain "Permission denied" (KVS.List / KVS.ListKeys).
  if ((keysMode || recurse) && ctx.acl?.settings.enableKeyListPolicy === true && !authz.allowed("key:list", key)) throw errors.permissionDenied();
  if (keysMode) {
    const separator = first(q, "separator") ?? first(q, "seperator") ?? "";
    return blockingRead(
      ctx,
      req,
      opts,
      (ws) => {
        const all = kv.keys(key, separator, ws);
        const keys = all.filter((k) => authz.allowed("key:read", k));
        return { index: kv.prefixIndex(key), value: { keys, removed: keys.length < all.length } };
      },
      ({ keys, removed }) => {
        const headers = filteredHeaders(authz, removed);
        return keys.length === 0 && key !== "" ? { kind: "empty", status: 404, headers } : json(keys, 200, headers);
      },
    );
  }
  if (recurse) {
    return blockingRead(
      ctx,
      req,
      opts,
      (ws) => {
        const all = kv.list(key, ws);
        const entries = all.filter((e) => authz.allowed("key:read", e.Key));
        return { index: kv.prefixIndex(key), value: { entries, removed: entries.length < all.length } };
      },
      ({ entries, removed }) => {
        const headers = filteredHeaders(authz, removed);
        return entries.length === 0 ? { kind: "empty", status: 404, headers } : entriesReply(entries, wantsPretty(ctx, q), headers);
      },
    );
  }
  authz.require("key:read", key);
  const raw = has(q, "raw");
  return blockingRead(
    ctx,
    req,
    opts,
    (ws) => {
      const e = kv.get(key, ws);
      // A missing key reports the whole store's index, so a watcher can block for it to appear.
      return { index: e ? e.ModifyIndex : kv.tableIndex, value: e };
    },
    (e): Reply => {
      if (!e) return { kind: "empty", status: 404 };
      if (raw) {
        return text(e.Value, 200, {
          "Content-Type": "text/plain",
          "X-Content-Type-Options": "nosniff",
          "Content-Security-Policy": "sandbox",
        });
      }
      return entriesReply([e], wantsPretty(ctx, q));
    },
  );
};

function entriesReply(entries: KVEntry[], pretty: boolean, headers?: Record<string, string>): Reply {
  return { kind: "json", status: 200, value: entries, encoded: encodeKvEntries(entries, pretty), headers };
}

/** Re-encodes the query with keys sorted, as Go's url.Values.Encode does, for the conflict message. */
function encodeSortedQuery(req: ApiRequest): string {
  const params = new URLSearchParams(req.rawQuery);
  const pairs = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%20/g, "+")}`).join("&");
}

function parseUintParam(req: ApiRequest, name: string): bigint | undefined {
  const raw = first(req.query, name);
  if (raw === undefined) return undefined;
  const v = parseUint64(raw);
  if (v === undefined) throw errors.badRequest(`strconv.ParseUint: parsing "${raw}": invalid syntax`);
  return v;
}

const put: Handler = async (ctx, req) => {
  const key = req.suffix;
  checkKey(key, false);
  queryOptions(ctx, req); // validates dc/ns like every endpoint
  const q = req.query;
  const modes = ["cas", "acquire", "release"].filter((m) => has(q, m));
  if (modes.length > 1) throw errors.conflictingFlags(encodeSortedQuery(req));
  const value = req.body ?? Buffer.alloc(0);
  if (value.length > ctx.settings.kvMaxValueSizeBytes) throw errors.valueTooLarge(value.length, ctx.settings.kvMaxValueSizeBytes);
  const flags = parseUintParam(req, "flags") ?? 0n;
  let op: KvSetOp = "set";
  let casIndex: number | undefined;
  let session: string | undefined;
  if (has(q, "cas")) {
    op = "cas";
    casIndex = Number(parseUintParam(req, "cas"));
  } else if (has(q, "acquire")) {
    op = "lock";
    session = first(q, "acquire") ?? "";
  } else if (has(q, "release")) {
    op = "unlock";
    session = first(q, "release") ?? "";
  }
  if ((op === "lock" || op === "unlock") && !session) throw errors.missingSession();
  requestAuthorizer(ctx, req).require("key:write", key);
  const ok = await write(ctx, {
    Type: "kv-set",
    Op: op,
    Key: key,
    Value: Buffer.from(value),
    Flags: flags,
    CasIndex: casIndex,
    Session: session,
    NowMs: ctx.clock.now(),
  });
  return json(ok === true);
};

const del: Handler = async (ctx, req) => {
  const key = req.suffix;
  const q = req.query;
  const recurse = has(q, "recurse");
  checkKey(key, recurse);
  queryOptions(ctx, req);
  if (recurse && has(q, "cas")) throw errors.conflictingFlags(encodeSortedQuery(req));
  // A recursive delete needs write on the whole subtree: no narrower rule under it may refuse.
  requestAuthorizer(ctx, req).require(recurse ? "key:write-prefix" : "key:write", key);
  if (has(q, "cas")) {
    const ok = await write(ctx, { Type: "kv-delete", Op: "delete-cas", Key: key, CasIndex: Number(parseUintParam(req, "cas")) });
    return json(ok === true);
  }
  await write(ctx, { Type: "kv-delete", Op: recurse ? "delete-tree" : "delete", Key: key });
  return json(true);
};

export const kvHandlers = { get, put, delete: del } satisfies Record<string, Handler>;

