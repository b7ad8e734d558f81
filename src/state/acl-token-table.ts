import { hash } from "node:crypto";
import { aclTokenExpired, type AclToken, type AclTokenFields } from "../model/acl.ts";
import type { WatchHub, WatchSet } from "./watch.ts";
import { ROWS_PER_PAUSE } from "./restore-pace.ts";
import { runWhole, type SlicedWork } from "../runtime/sliced-work.ts";

// ACL tokens by AccessorID, with a secret index. The secret index is keyed by the SHA-256 of
// the SecretID, so finding a token never compares a presented secret with stored ones byte by
// byte (no timing signal about how much of a guess was right).

export const ACL_TOKENS_TOPIC = "acl-tokens";

const byAccessor = (a: AclToken, b: AclToken): number => (a.AccessorID < b.AccessorID ? -1 : a.AccessorID > b.AccessorID ? 1 : 0);

/** The secret index's key (crypto.hash: a third of createHash's cost, and it runs on every request). */
export function aclSecretDigest(secret: string): string {
  return hash("sha256", secret, "base64");
}
const secretKey = aclSecretDigest;

export interface TokenListFilter {
  policy?: string;
  role?: string;
  serviceName?: string;
  authMethod?: string;
}

export class AclTokenTable {
  readonly #hub: WatchHub;
  #rows = new Map<string, AclToken>();
  #bySecret = new Map<string, string>();
  tableIndex = 0;

  constructor(hub: WatchHub) {
    this.#hub = hub;
  }

  get size(): number {
    return this.#rows.size;
  }

  get(accessorId: string, ws?: WatchSet): AclToken | undefined {
    ws?.add(ACL_TOKENS_TOPIC);
    return this.#rows.get(accessorId);
  }

  getBySecret(secret: string, ws?: WatchSet): AclToken | undefined {
    return this.getBySecretDigest(secretKey(secret), ws);
  }

  /** As getBySecret, for a caller that already holds aclSecretDigest(secret). */
  getBySecretDigest(digest: string, ws?: WatchSet): AclToken | undefined {
    ws?.add(ACL_TOKENS_TOPIC);
    const accessor = this.#bySecret.get(digest);
    return accessor === undefined ? undefined : this.#rows.get(accessor);
  }

  /** Tokens ordered by AccessorID, narrowed by the list endpoint's filters (all must match). */
  list(filter: TokenListFilter = {}, ws?: WatchSet): AclToken[] {
    ws?.add(ACL_TOKENS_TOPIC);
    const out: AclToken[] = [];
    for (const t of this.#rows.values()) {
      if (filter.policy && !t.Policies.some((p) => p.ID === filter.policy)) continue;
      if (filter.role && !t.Roles.some((r) => r.ID === filter.role)) continue;
      if (filter.serviceName && !t.ServiceIdentities.some((s) => s.ServiceName === filter.serviceName)) continue;
      if (filter.authMethod && t.AuthMethod !== filter.authMethod) continue;
      out.push(t);
    }
    return out.sort(byAccessor);
  }

  /** Tokens whose ExpirationTime is before `nowMs`, oldest first, at most `limit`. */
  expired(nowMs: number, local: boolean, limit: number): AclToken[] {
    const out: AclToken[] = [];
    for (const t of this.#rows.values()) if (t.Local === local && aclTokenExpired(t, nowMs)) out.push(t);
    out.sort((a, b) => Date.parse(a.ExpirationTime as string) - Date.parse(b.ExpirationTime as string));
    return out.slice(0, limit);
  }

  /** Inserts or replaces by AccessorID (keeping CreateIndex). The caller checked uniqueness. */
  put(index: number, fields: AclTokenFields): AclToken {
    const prev = this.#rows.get(fields.AccessorID);
    if (prev) this.#bySecret.delete(secretKey(prev.SecretID));
    const row: AclToken = { ...fields, CreateIndex: prev?.CreateIndex ?? index, ModifyIndex: index };
    this.#rows.set(row.AccessorID, row);
    this.#bySecret.set(secretKey(row.SecretID), row.AccessorID);
    this.#bump(index);
    return row;
  }

  delete(index: number, accessorId: string): AclToken | undefined {
    const prev = this.#rows.get(accessorId);
    if (!prev) return undefined;
    this.#rows.delete(accessorId);
    this.#bySecret.delete(secretKey(prev.SecretID));
    this.#bump(index);
    return prev;
  }

  dump(): { rows: AclToken[]; tableIndex: number } {
    return { rows: [...this.#rows.values()], tableIndex: this.tableIndex };
  }

  load(dump: { rows: AclToken[]; tableIndex: number }): void {
    runWhole(this.loadSlices(dump));
  }

  /**
   * load() as work that pauses every ROWS_PER_PAUSE rows, for a table nobody reads yet: a
   * snapshot restore stages every table this way, then the live one adopts it at once.
   */
  *loadSlices(dump: { rows: AclToken[]; tableIndex: number }): SlicedWork<void> {
    this.clear();
    let n = 0;
    for (const row of dump.rows) {
      this.#rows.set(row.AccessorID, row);
      this.#bySecret.set(secretKey(row.SecretID), row.AccessorID);
      if (++n % ROWS_PER_PAUSE === 0) yield;
    }
    this.tableIndex = dump.tableIndex;
  }

  /** Takes over the rows of `staged` (loaded with loadSlices) in O(1); `staged` is not used again. */
  adopt(staged: AclTokenTable): void {
    this.#rows = staged.#rows;
    this.#bySecret = staged.#bySecret;
    this.tableIndex = staged.tableIndex;
  }

  clear(): void {
    this.#rows.clear();
    this.#bySecret.clear();
    this.tableIndex = 0;
  }

  #bump(index: number): void {
    this.tableIndex = Math.max(this.tableIndex, index);
    this.#hub.notify(ACL_TOKENS_TOPIC);
  }
}
