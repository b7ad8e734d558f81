// Client-side distributed lock and semaphore over the KV and session APIs, following Go's
// api.Lock and api.Semaphore step for step (key layout, magic flags, session settings, wait
// and retry timings) so a `consulate lock` and a Go `consul lock` on one prefix interoperate.
import { sleep } from "./abortable-sleep.ts";
import { consulIndexOf } from "./consul-index.ts";
import type { ConsulHttpClient, QueryValue } from "./http-client.ts";
import { escapePath, parseJSONBody, RequestAbortedError, UnexpectedStatusError, errorMessage } from "./http-client.ts";
import type { KVEntry } from "./kv-entry.ts";
import { parseKVEntries } from "./kv-entry.ts";
import { parseGoDuration } from "../model/duration.ts";

/** api.LockFlagValue: marks `<prefix>/.lock` as a mutex. */
export const LOCK_FLAG_VALUE = 0x2ddccbc058a50c18n;
/** api.SemaphoreFlagValue: marks the semaphore's keys. */
export const SEMAPHORE_FLAG_VALUE = 0xe0f69a2baa414de0n;
/** api.DefaultSemaphoreKey, also used by `consul lock` for mutexes so the two conflict visibly. */
export const SEMAPHORE_KEY = ".lock";

export const DEFAULT_LOCK_SESSION_NAME = "Consul API Lock";
export const DEFAULT_SEMAPHORE_SESSION_NAME = "Consul API Semaphore";
export const DEFAULT_SESSION_TTL = "15s";
const DEFAULT_WAIT_MS = 15_000;
const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_MONITOR_RETRY_MS = 2_000;

export const ERR_LOCK_HELD = "Lock already held";
export const ERR_LOCK_NOT_HELD = "Lock not held";
export const ERR_LOCK_IN_USE = "Lock in use";
export const ERR_LOCK_CONFLICT = "Existing key does not match lock use";
export const ERR_SEMAPHORE_HELD = "Semaphore already held";
export const ERR_SEMAPHORE_NOT_HELD = "Semaphore not held";
export const ERR_SEMAPHORE_IN_USE = "Semaphore in use";
export const ERR_SEMAPHORE_CONFLICT = "Existing key does not match semaphore use";

export class LockError extends Error {
  override readonly name = "LockError";
}

/** What `consul lock` needs from either primitive (its LockUnlock struct). */
export interface LockHandle {
  /**
   * Blocks until held; resolves with a signal that aborts when the lock is lost, or with
   * `undefined` when `stop` fired or a one-shot wait ran out.
   */
  acquire(stop: AbortSignal): Promise<AbortSignal | undefined>;
  release(): Promise<void>;
  /** Removes the coordination key when nobody uses it; throws `inUseMessage` otherwise. */
  destroy(): Promise<void>;
  readonly inUseMessage: string;
}

interface CommonOptions {
  readonly sessionName?: string;
  readonly sessionTTL?: string;
  readonly value?: Buffer;
  /** Retries of the monitor on 500s / transport errors before declaring the lock lost. */
  readonly monitorRetries?: number;
  readonly monitorRetryMs?: number;
  /** Give up after `waitMs` instead of waiting forever (`-timeout`). */
  readonly tryOnce?: boolean;
  readonly waitMs?: number;
  /** Pause after a refused acquisition (lock-delay); Go uses 5 s. */
  readonly retryMs?: number;
}

export interface LockOptions extends CommonOptions {
  readonly key: string;
}

export interface SemaphoreOptions extends CommonOptions {
  readonly prefix: string;
  readonly limit: number;
}

type ResolvedCommonOptions = Required<Omit<CommonOptions, "value">> & { value: Buffer };

/** Go's defaults for the settings both primitives share; rejects a TTL that is not a duration. */
function resolveCommonOptions(opts: CommonOptions, defaultSessionName: string): ResolvedCommonOptions {
  const ttl = opts.sessionTTL ?? DEFAULT_SESSION_TTL;
  try {
    parseGoDuration(ttl);
  } catch (err) {
    throw new LockError(`invalid SessionTTL: ${errorMessage(err)}`, { cause: err });
  }
  return {
    sessionName: opts.sessionName === undefined || opts.sessionName === "" ? defaultSessionName : opts.sessionName,
    sessionTTL: ttl,
    value: opts.value ?? Buffer.alloc(0),
    monitorRetries: opts.monitorRetries ?? 0,
    monitorRetryMs: opts.monitorRetryMs ?? DEFAULT_MONITOR_RETRY_MS,
    tryOnce: opts.tryOnce ?? false,
    waitMs: opts.waitMs !== undefined && opts.waitMs > 0 ? opts.waitMs : DEFAULT_WAIT_MS,
    retryMs: opts.retryMs ?? DEFAULT_RETRY_MS,
  };
}

/** path.Join for two parts: joined with "/" and cleaned. */
export function joinKeyPath(left: string, right: string): string {
  const joined = [left, right].filter((p) => p !== "").join("/");
  if (joined === "") return "";
  const absolute = joined.startsWith("/");
  const out: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const cleaned = (absolute ? "/" : "") + out.join("/");
  return cleaned === "" ? (absolute ? "/" : ".") : cleaned;
}

function kvPath(key: string): string {
  return `/v1/kv/${escapePath(key.startsWith("/") ? key.slice(1) : key)}`;
}

function isRetryable(err: unknown): boolean {
  if (err instanceof UnexpectedStatusError) return err.statusCode === 500 || err.statusCode === 429;
  return !(err instanceof RequestAbortedError);
}

/** Session lifetime shared by both primitives: create, renew every TTL/2 (api.RenewPeriodic), destroy. */
class ManagedSession {
  readonly id: string;
  private readonly client: ConsulHttpClient;
  private readonly stopRenew = new AbortController();
  private readonly renewing: Promise<void>;

  private constructor(client: ConsulHttpClient, id: string, ttl: string) {
    this.client = client;
    this.id = id;
    this.renewing = this.renewLoop(ttl);
  }

  static async create(client: ConsulHttpClient, body: Record<string, string>, ttl: string): Promise<ManagedSession> {
    let id: string;
    try {
      const response = await client.sendOK({ method: "PUT", path: "/v1/session/create", body: JSON.stringify(body) });
      const parsed = parseJSONBody(response.body) as { ID?: unknown } | null;
      id = typeof parsed?.ID === "string" ? parsed.ID : "";
    } catch (err) {
      throw new LockError(`failed to create session: ${errorMessage(err)}`, { cause: err });
    }
    return new ManagedSession(client, id, ttl);
  }

  private async renewLoop(initialTTL: string): Promise<void> {
    const signal = this.stopRenew.signal;
    let ttlMs = parseGoDuration(initialTTL);
    let waitMs = ttlMs / 2;
    let lastRenew = Date.now();
    while (!signal.aborted) {
      if (Date.now() - lastRenew > ttlMs) return;
      await sleep(waitMs, signal);
      if (signal.aborted) return;
      try {
        const response = await this.client.send({ method: "PUT", path: `/v1/session/renew/${escapePath(this.id)}`, signal });
        if (response.statusCode === 404) return; // expired: nothing left to renew
        if (response.statusCode !== 200) throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8"));
        const entries = parseJSONBody(response.body);
        const ttl = Array.isArray(entries) ? (entries[0] as { TTL?: unknown } | undefined)?.TTL : undefined;
        if (typeof ttl === "string" && ttl !== "") ttlMs = parseGoDuration(ttl);
        waitMs = ttlMs / 2;
        lastRenew = Date.now();
      } catch {
        if (signal.aborted) return;
        waitMs = 1000;
      }
    }
  }

  /** Stops renewing and destroys the session (best effort, like RenewPeriodic's doneCh). */
  async close(): Promise<void> {
    this.stopRenew.abort();
    await this.renewing;
    try {
      await this.client.send({ method: "PUT", path: `/v1/session/destroy/${escapePath(this.id)}` });
    } catch {
      // The session expires on its own after 2×TTL.
    }
  }
}

interface ReadResult {
  readonly entries: KVEntry[];
  readonly index: bigint;
}

async function readKV(
  client: ConsulHttpClient,
  key: string,
  query: Record<string, QueryValue>,
  signal?: AbortSignal,
): Promise<ReadResult> {
  const response = await client.send({ method: "GET", path: kvPath(key), query, read: true, signal });
  if (response.statusCode === 404) return { entries: [], index: consulIndexOf(response) };
  if (response.statusCode !== 200) throw new UnexpectedStatusError(response.statusCode, response.body.toString("utf8").trim());
  return { entries: parseKVEntries(response.body), index: consulIndexOf(response) };
}

function blockingQuery(index: bigint, waitMs: number | undefined): Record<string, QueryValue> {
  return {
    index: index > 0n ? index.toString() : undefined,
    wait: waitMs !== undefined && waitMs > 0 ? `${Math.max(1, Math.floor(waitMs))}ms` : undefined,
  };
}

async function writeKV(
  client: ConsulHttpClient,
  key: string,
  query: Record<string, QueryValue>,
  body: Buffer | string,
): Promise<boolean> {
  const response = await client.sendOK({ method: "PUT", path: kvPath(key), query, body });
  return parseJSONBody(response.body) === true;
}

async function deleteKV(client: ConsulHttpClient, key: string, query: Record<string, QueryValue>): Promise<boolean> {
  const response = await client.sendOK({ method: "DELETE", path: kvPath(key), query });
  return parseJSONBody(response.body) === true;
}

/** Runs one acquisition under a fresh session; the session outlives it only when the attempt ends holding. */
async function acquireUnderSession(
  client: ConsulHttpClient,
  sessionBody: Record<string, string>,
  ttl: string,
  attempt: (sessionId: string) => Promise<AbortSignal | undefined>,
): Promise<{ session: ManagedSession; lost: AbortSignal } | undefined> {
  const session = await ManagedSession.create(client, sessionBody, ttl);
  try {
    const lost = await attempt(session.id);
    if (lost === undefined) {
      await session.close();
      return undefined;
    }
    return { session, lost };
  } catch (err) {
    await session.close();
    throw err;
  }
}

/**
 * Blocks on `read` until `stillHeld` says the hold is gone; a failed read is retried `retries`
 * times, `retryMs` apart, when transient (500 / 429 / transport), and otherwise counts as lost.
 */
async function watchHold(
  read: (query: Record<string, QueryValue>, stop: AbortSignal) => Promise<ReadResult>,
  stillHeld: (result: ReadResult) => boolean,
  retries: number,
  retryMs: number,
  stop: AbortSignal,
): Promise<void> {
  let index = 0n;
  for (;;) {
    let retriesLeft = retries;
    let result: ReadResult | undefined;
    while (result === undefined) {
      try {
        result = await read({ consistent: "", ...blockingQuery(index, undefined) }, stop);
      } catch (err) {
        if (stop.aborted || retriesLeft <= 0 || !isRetryable(err)) return;
        await sleep(retryMs, stop);
        retriesLeft--;
        index = 0n;
      }
    }
    if (!stillHeld(result)) return;
    index = result.index;
  }
}

/** Deadline bookkeeping of LockTryOnce / SemaphoreTryOnce. */
class AttemptClock {
  private readonly start = Date.now();
  private attempts = 0;
  private readonly tryOnce: boolean;
  private readonly waitMs: number;

  constructor(tryOnce: boolean, waitMs: number) {
    this.tryOnce = tryOnce;
    this.waitMs = waitMs;
  }

  /** The wait to use for the next blocking read, or `undefined` when the one-shot budget is spent. */
  next(): number | undefined {
    let wait = this.waitMs;
    if (this.tryOnce && this.attempts > 0) {
      const elapsed = Date.now() - this.start;
      if (elapsed > this.waitMs) return undefined;
      wait = this.waitMs - elapsed;
    }
    this.attempts++;
    return wait;
  }
}

/** api.Lock: a mutex on one key held through a session. */
export class ConsulLock implements LockHandle {
  readonly inUseMessage = ERR_LOCK_IN_USE;
  private readonly client: ConsulHttpClient;
  private readonly opts: ResolvedCommonOptions & { readonly key: string };
  private session: ManagedSession | undefined;
  private held = false;
  private monitorStop: AbortController | undefined;

  constructor(client: ConsulHttpClient, opts: LockOptions) {
    if (opts.key === "") throw new LockError("missing key");
    const common = resolveCommonOptions(opts, DEFAULT_LOCK_SESSION_NAME);
    this.client = client;
    this.opts = { key: opts.key, ...common };
  }

  private lockQuery(mode: "acquire" | "release", session: string): Record<string, QueryValue> {
    return { [mode]: session, flags: LOCK_FLAG_VALUE.toString() };
  }

  async acquire(stop: AbortSignal): Promise<AbortSignal | undefined> {
    if (this.held) throw new LockError(ERR_LOCK_HELD);
    const hold = await acquireUnderSession(
      this.client,
      { Name: this.opts.sessionName, TTL: this.opts.sessionTTL },
      this.opts.sessionTTL,
      (session) => this.acquireWith(session, stop),
    );
    if (hold === undefined) return undefined;
    this.session = hold.session;
    return hold.lost;
  }

  private async acquireWith(session: string, stop: AbortSignal): Promise<AbortSignal | undefined> {
    const clock = new AttemptClock(this.opts.tryOnce, this.opts.waitMs);
    let index = 0n;
    for (;;) {
      if (stop.aborted) return undefined;
      const waitMs = clock.next();
      if (waitMs === undefined) return undefined;
      let read: ReadResult;
      try {
        read = await readKV(this.client, this.opts.key, blockingQuery(index, waitMs), stop);
      } catch (err) {
        if (err instanceof RequestAbortedError) return undefined;
        throw new LockError(`failed to read lock: ${errorMessage(err)}`, { cause: err });
      }
      const pair = read.entries[0];
      if (pair !== undefined && pair.Flags !== LOCK_FLAG_VALUE) throw new LockError(ERR_LOCK_CONFLICT);
      if (pair !== undefined && pair.Session !== "") {
        index = read.index;
        continue;
      }
      let locked: boolean;
      try {
        locked = await writeKV(this.client, this.opts.key, this.lockQuery("acquire", session), this.opts.value);
      } catch (err) {
        throw new LockError(`failed to acquire lock: ${errorMessage(err)}`, { cause: err });
      }
      if (!locked) {
        // Someone else won the race (block on their hold) or a lock-delay is running (wait it out).
        let again: ReadResult;
        try {
          again = await readKV(this.client, this.opts.key, blockingQuery(0n, waitMs), stop);
        } catch (err) {
          if (err instanceof RequestAbortedError) return undefined;
          throw new LockError(`failed to read lock: ${errorMessage(err)}`, { cause: err });
        }
        const holder = again.entries[0];
        if (holder !== undefined && holder.Session !== "") {
          index = again.index;
          continue;
        }
        index = 0n;
        await sleep(this.opts.retryMs, stop);
        continue;
      }
      this.held = true;
      this.monitorStop = new AbortController();
      const lost = new AbortController();
      void this.monitor(session, this.monitorStop.signal).finally(() => lost.abort());
      return lost.signal;
    }
  }

  /** Watches the key until another session (or none) holds it; resolves when the lock is lost. */
  private async monitor(session: string, stop: AbortSignal): Promise<void> {
    await watchHold(
      (query, signal) => readKV(this.client, this.opts.key, query, signal),
      (read) => read.entries[0] !== undefined && read.entries[0].Session === session,
      this.opts.monitorRetries,
      this.opts.monitorRetryMs,
      stop,
    );
  }

  async release(): Promise<void> {
    if (!this.held) throw new LockError(ERR_LOCK_NOT_HELD);
    this.held = false;
    const session = this.session;
    this.session = undefined;
    this.monitorStop?.abort();
    try {
      if (session !== undefined) await writeKV(this.client, this.opts.key, this.lockQuery("release", session.id), this.opts.value);
    } catch (err) {
      throw new LockError(`failed to release lock: ${errorMessage(err)}`, { cause: err });
    } finally {
      await session?.close();
    }
  }

  async destroy(): Promise<void> {
    if (this.held) throw new LockError(ERR_LOCK_HELD);
    let read: ReadResult;
    try {
      read = await readKV(this.client, this.opts.key, {});
    } catch (err) {
      throw new LockError(`failed to read lock: ${errorMessage(err)}`, { cause: err });
    }
    const pair = read.entries[0];
    if (pair === undefined) return;
    if (pair.Flags !== LOCK_FLAG_VALUE) throw new LockError(ERR_LOCK_CONFLICT);
    if (pair.Session !== "") throw new LockError(ERR_LOCK_IN_USE);
    let removed: boolean;
    try {
      removed = await deleteKV(this.client, this.opts.key, { cas: pair.ModifyIndex.toString() });
    } catch (err) {
      throw new LockError(`failed to remove lock: ${errorMessage(err)}`, { cause: err });
    }
    if (!removed) throw new LockError(ERR_LOCK_IN_USE);
  }
}

/** The JSON document at `<prefix>/.lock`. */
export interface SemaphoreLockDocument {
  Limit: number;
  Holders: Record<string, boolean>;
}

/** json.Marshal of the Go struct: `{"Limit":n,"Holders":{...}}`, map keys sorted. */
export function encodeSemaphoreLock(lock: SemaphoreLockDocument): string {
  const holders: Record<string, boolean> = {};
  for (const id of Object.keys(lock.Holders).sort()) holders[id] = lock.Holders[id];
  return JSON.stringify({ Limit: lock.Limit, Holders: holders });
}

/** api.Semaphore: up to `limit` holders, each with a contender key, agreed through `<prefix>/.lock`. */
export class ConsulSemaphore implements LockHandle {
  readonly inUseMessage = ERR_SEMAPHORE_IN_USE;
  private readonly client: ConsulHttpClient;
  private readonly opts: ResolvedCommonOptions & { readonly prefix: string; readonly limit: number };
  private session: ManagedSession | undefined;
  private held = false;
  private monitorStop: AbortController | undefined;

  constructor(client: ConsulHttpClient, opts: SemaphoreOptions) {
    if (opts.prefix === "") throw new LockError("missing prefix");
    if (opts.limit <= 0) throw new LockError("semaphore limit must be positive");
    const common = resolveCommonOptions(opts, DEFAULT_SEMAPHORE_SESSION_NAME);
    this.client = client;
    this.opts = { prefix: opts.prefix, limit: opts.limit, ...common };
  }

  private get lockKey(): string {
    return joinKeyPath(this.opts.prefix, SEMAPHORE_KEY);
  }

  private findLock(entries: KVEntry[]): KVEntry {
    const key = this.lockKey;
    return (
      entries.find((entry) => entry.Key === key) ?? {
        Key: key,
        CreateIndex: 0n,
        ModifyIndex: 0n,
        LockIndex: 0n,
        Flags: SEMAPHORE_FLAG_VALUE,
        Value: undefined,
        Session: "",
        Namespace: "",
        Partition: "",
      }
    );
  }

  private decodeLock(pair: KVEntry): SemaphoreLockDocument {
    if (pair.Value === undefined) return { Limit: this.opts.limit, Holders: {} };
    let raw: unknown;
    try {
      raw = JSON.parse(pair.Value.toString("utf8"));
    } catch (err) {
      throw new LockError(`lock decoding failed: ${errorMessage(err)}`, { cause: err });
    }
    const record = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
    // encoding/json matches field names case-insensitively.
    const field = (name: string): unknown => {
      const match = Object.keys(record).find((k) => k.toLowerCase() === name);
      return match === undefined ? undefined : record[match];
    };
    const holders: Record<string, boolean> = {};
    const rawHolders = field("holders");
    if (rawHolders !== null && typeof rawHolders === "object") {
      for (const [id, value] of Object.entries(rawHolders)) holders[id] = value === true;
    }
    const limit = field("limit");
    return { Limit: typeof limit === "number" ? limit : 0, Holders: holders };
  }

  private static pruneDeadHolders(lock: SemaphoreLockDocument, entries: KVEntry[]): void {
    const alive = new Set(entries.filter((e) => e.Session !== "").map((e) => e.Session));
    for (const holder of Object.keys(lock.Holders)) if (!alive.has(holder)) delete lock.Holders[holder];
  }

  private async casLock(lock: SemaphoreLockDocument, modifyIndex: bigint): Promise<boolean> {
    return writeKV(
      this.client,
      this.lockKey,
      { cas: modifyIndex.toString(), flags: SEMAPHORE_FLAG_VALUE.toString() },
      encodeSemaphoreLock(lock),
    );
  }

  private async list(query: Record<string, QueryValue>, signal?: AbortSignal): Promise<ReadResult> {
    return readKV(this.client, this.opts.prefix, { recurse: "", ...query }, signal);
  }

  async acquire(stop: AbortSignal): Promise<AbortSignal | undefined> {
    if (this.held) throw new LockError(ERR_SEMAPHORE_HELD);
    const hold = await acquireUnderSession(
      this.client,
      { Name: this.opts.sessionName, TTL: this.opts.sessionTTL, Behavior: "delete" },
      this.opts.sessionTTL,
      (session) => this.acquireWith(session, stop),
    );
    if (hold === undefined) return undefined;
    this.session = hold.session;
    return hold.lost;
  }

  private async acquireWith(session: string, stop: AbortSignal): Promise<AbortSignal | undefined> {
    let made = false;
    let failure: unknown = undefined;
    try {
      made = await writeKV(
        this.client,
        joinKeyPath(this.opts.prefix, session),
        { acquire: session, flags: SEMAPHORE_FLAG_VALUE.toString() },
        this.opts.value,
      );
    } catch (err) {
      failure = err;
    }
    if (!made) throw new LockError(`failed to make contender entry: ${failure === undefined ? "<nil>" : errorMessage(failure)}`);

    const clock = new AttemptClock(this.opts.tryOnce, this.opts.waitMs);
    let index = 0n;
    for (;;) {
      if (stop.aborted) return undefined;
      const waitMs = clock.next();
      if (waitMs === undefined) return undefined;
      let read: ReadResult;
      try {
        read = await this.list(blockingQuery(index, waitMs), stop);
      } catch (err) {
        if (err instanceof RequestAbortedError) return undefined;
        throw new LockError(`failed to read prefix: ${errorMessage(err)}`, { cause: err });
      }
      const lockPair = this.findLock(read.entries);
      if (lockPair.Flags !== SEMAPHORE_FLAG_VALUE) throw new LockError(ERR_SEMAPHORE_CONFLICT);
      const lock = this.decodeLock(lockPair);
      if (lock.Limit !== this.opts.limit) {
        throw new LockError(`semaphore limit conflict (lock: ${lock.Limit}, local: ${this.opts.limit})`);
      }
      ConsulSemaphore.pruneDeadHolders(lock, read.entries);
      if (Object.keys(lock.Holders).length >= lock.Limit) {
        index = read.index;
        continue;
      }
      lock.Holders[session] = true;
      let didSet: boolean;
      try {
        didSet = await this.casLock(lock, lockPair.ModifyIndex);
      } catch (err) {
        throw new LockError(`failed to update lock: ${errorMessage(err)}`, { cause: err });
      }
      if (!didSet) continue; // raced with another contender: re-read
      this.held = true;
      this.monitorStop = new AbortController();
      const lost = new AbortController();
      void this.monitor(session, this.monitorStop.signal).finally(() => lost.abort());
      return lost.signal;
    }
  }

  private async monitor(session: string, stop: AbortSignal): Promise<void> {
    await watchHold(
      (query, signal) => this.list(query, signal),
      (read) => {
        let lock: SemaphoreLockDocument;
        try {
          lock = this.decodeLock(this.findLock(read.entries));
        } catch {
          return false;
        }
        ConsulSemaphore.pruneDeadHolders(lock, read.entries);
        return lock.Holders[session] === true;
      },
      this.opts.monitorRetries,
      this.opts.monitorRetryMs,
      stop,
    );
  }

  async release(): Promise<void> {
    if (!this.held) throw new LockError(ERR_SEMAPHORE_NOT_HELD);
    this.held = false;
    const session = this.session;
    this.session = undefined;
    this.monitorStop?.abort();
    try {
      if (session === undefined) return;
      for (;;) {
        const read = await readKV(this.client, this.lockKey, {});
        const pair = read.entries[0] ?? this.findLock([]);
        const lock = this.decodeLock(pair);
        if (!(session.id in lock.Holders)) break;
        delete lock.Holders[session.id];
        let didSet: boolean;
        try {
          didSet = await this.casLock(lock, pair.ModifyIndex);
        } catch (err) {
          throw new LockError(`failed to update lock: ${errorMessage(err)}`, { cause: err });
        }
        if (didSet) break;
      }
      await deleteKV(this.client, joinKeyPath(this.opts.prefix, session.id), {});
    } finally {
      await session?.close();
    }
  }

  async destroy(): Promise<void> {
    if (this.held) throw new LockError(ERR_SEMAPHORE_HELD);
    let read: ReadResult;
    try {
      read = await this.list({});
    } catch (err) {
      throw new LockError(`failed to read prefix: ${errorMessage(err)}`, { cause: err });
    }
    const lockPair = this.findLock(read.entries);
    if (lockPair.ModifyIndex === 0n) return;
    if (lockPair.Flags !== SEMAPHORE_FLAG_VALUE) throw new LockError(ERR_SEMAPHORE_CONFLICT);
    const lock = this.decodeLock(lockPair);
    ConsulSemaphore.pruneDeadHolders(lock, read.entries);
    if (Object.keys(lock.Holders).length > 0) throw new LockError(ERR_SEMAPHORE_IN_USE);
    let removed: boolean;
    try {
      removed = await deleteKV(this.client, this.lockKey, { cas: lockPair.ModifyIndex.toString() });
    } catch (err) {
      throw new LockError(`failed to remove semaphore: ${errorMessage(err)}`, { cause: err });
    }
    if (!removed) throw new LockError(ERR_SEMAPHORE_IN_USE);
  }
}
