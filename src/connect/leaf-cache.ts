import type { Clock, TimerHandle } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import { createLeafKeyAndCsr } from "./leaf-key.ts";
import { serviceUri } from "./spiffe.ts";

// The agent's leaf certificates (Consul's leaf-cert cache): one per service, generated here
// (key + CSR), signed by the servers, kept and served until renewal. A leaf renews at a random
// point between 60 % and 90 % of its lifetime, and at once when the active root changes
// (the roots are watched with a blocking query). Blocking readers wake when their leaf changes.

/** What a server returns for a CSR (see server/connect-ca.ts SignedLeaf). */
export interface SignedLeafReply {
  SerialNumber: string;
  CertPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  Namespace: string;
  RootID: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CachedLeaf extends SignedLeafReply {
  PrivateKeyPEM: string;
}

export interface RootsSummary {
  index: number;
  activeRootId: string;
  trustDomain: string;
}

export interface LeafCacheDeps {
  clock: Clock;
  rng: Rng;
  logger: Logger;
  datacenter: string;
  /**
   * Asks a server to sign (client agent → server → leader); the token is the caller's. The
   * leaf's ModifyIndex will exceed afterIndex (the service's previous leaf's), so blocking
   * readers at the old index see the new one.
   */
  sign(csrPem: string, token: string, afterIndex: number): Promise<SignedLeafReply>;
  /** Reads the roots, blocking while their index is still `minIndex` (0: at once). */
  roots(minIndex: number, waitMs: number): Promise<RootsSummary>;
}

interface Entry {
  service: string;
  leaf?: CachedLeaf;
  fetching?: Promise<CachedLeaf>;
  waiters: Set<() => void>;
  renewal?: TimerHandle;
  token: string;
  /** Last time a client asked for this leaf; one unused for UNUSED_TTL_MS is dropped instead of renewed. */
  lastUsedMs: number;
}

/** Consul's leaf cache drops entries nobody read for 3 days. */
const UNUSED_TTL_MS = 72 * 3_600_000;

const ROOTS_WAIT_MS = 10 * 60_000;
/** setTimeout's ceiling; longer renewals re-arm. */
const MAX_TIMER_MS = 2 **31 - 1;

export class LeafCache {
  readonly #d: LeafCacheDeps;
  readonly #entries = new Map<string, Entry>();
  #roots: RootsSummary | undefined;
  #watching = false;
  #stopped = false;
  #retryTimer: TimerHandle | undefined;

  constructor(deps: LeafCacheDeps) {
    this.#d = deps;
  }

  /** How many services have a leaf here (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  stop(): void {
    this.#stopped = true;
    this.#retryTimer?.cancel();
    for (const e of this.#entries.values()) {
      e.renewal?.cancel();
      for (const w of e.waiters) w();
    }
  }

  /**
   * The service's leaf: the cached one while valid and signed by the active root, otherwise a
   * new one. With minIndex > 0, waits (up to waitMs) until the leaf's index passes it.
   */
  async get(service: string, token: string, minIndex: number, waitMs: number): Promise<CachedLeaf> {
    let entry = this.#entries.get(service);
    if (!entry) {
      entry = { service, waiters: new Set(), token, lastUsedMs: 0 };
      this.#entries.set(service, entry);
    }
    entry.token = token;
    entry.lastUsedMs = this.#d.clock.now();
    this.#watchRoots();
    let leaf = entry.leaf && this.#usable(entry.leaf) ? entry.leaf : await this.#refresh(entry);
    if (minIndex === 0 || leaf.ModifyIndex > minIndex) return leaf;
    await this.#waitForChange(entry, waitMs);
    leaf = entry.leaf ?? leaf;
    return leaf;
  }

  #usable(leaf: CachedLeaf): boolean {
    if (this.#d.clock.now() >= Date.parse(leaf.ValidBefore)) return false;
    return this.#roots === undefined || this.#roots.activeRootId === leaf.RootID;
  }

  #waitForChange(entry: Entry, waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        timer.cancel();
        entry.waiters.delete(wake);
        resolve();
      };
      const timer = this.#d.clock.setTimer(waitMs + this.#d.rng.float() * (waitMs / 16), wake);
      entry.waiters.add(wake);
    });
  }

  /** One signing at a time per service; concurrent callers share it. */
  #refresh(entry: Entry): Promise<CachedLeaf> {
    if (!entry.fetching) {
      entry.fetching = this.#issue(entry).finally(() => {
        entry.fetching = undefined;
      });
    }
    return entry.fetching;
  }

  async #issue(entry: Entry): Promise<CachedLeaf> {
    const roots = this.#roots ?? (this.#roots = await this.#d.roots(0, 0));
    const uri = serviceUri({ trustDomain: roots.trustDomain, namespace: "default", datacenter: this.#d.datacenter, service: entry.service });
    const { privateKeyPem, csrPem } = await createLeafKeyAndCsr(uri, entry.service);
    const signed = await this.#d.sign(csrPem, entry.token, entry.leaf?.ModifyIndex ?? 0);
    const leaf: CachedLeaf = { ...signed, PrivateKeyPEM: privateKeyPem };
    entry.leaf = leaf;
    this.#scheduleRenewal(entry, leaf);
    for (const w of [...entry.waiters]) w();
    return leaf;
  }

  #scheduleRenewal(entry: Entry, leaf: CachedLeaf): void {
    entry.renewal?.cancel();
    if (this.#stopped) return;
    const after = Date.parse(leaf.ValidAfter);
    const before = Date.parse(leaf.ValidBefore);
    const at = after + (before - after) * (0.6 + 0.3 * this.#d.rng.float());
    this.#renewAt(entry, leaf, at);
  }

  #renewAt(entry: Entry, leaf: CachedLeaf, atMs: number): void {
    const delay = atMs - this.#d.clock.now();
    if (delay > MAX_TIMER_MS) {
      entry.renewal = this.#d.clock.setTimer(MAX_TIMER_MS, () => this.#renewAt(entry, leaf, atMs));
      return;
    }
    entry.renewal = this.#d.clock.setTimer(delay, () => this.#renewNow(entry, 1000));
  }

  #renewNow(entry: Entry, backoffMs: number): void {
    if (this.#stopped) return;
    if (this.#d.clock.now() - entry.lastUsedMs > UNUSED_TTL_MS && entry.waiters.size === 0) {
      entry.renewal?.cancel();
      this.#entries.delete(entry.service);
      return;
    }
    this.#refresh(entry).catch((err: unknown) => {
      this.#d.logger.warn("leaf certificate renewal failed; retrying", { service: entry.service, error: err instanceof Error ? err.message : String(err) });
      entry.renewal = this.#d.clock.setTimer(backoffMs, () => this.#renewNow(entry, Math.min(60_000, backoffMs * 2)));
    });
  }

  /** Watches the roots once any leaf is wanted; a new active root re-issues every cached leaf at once. */
  #watchRoots(): void {
    if (this.#watching || this.#stopped) return;
    this.#watching = true;
    const loop = async (): Promise<void> => {
      let failures = 0;
      while (!this.#stopped) {
        try {
          const next = await this.#d.roots(this.#roots?.index ?? 0, ROOTS_WAIT_MS);
          failures = 0;
          const changed = this.#roots !== undefined && this.#roots.activeRootId !== next.activeRootId;
          this.#roots = next;
          if (changed) for (const e of this.#entries.values()) if (e.leaf) this.#renewNow(e, 1000);
          if (next.index === 0) await this.#sleep(1000);
        } catch (err) {
          failures++;
          this.#d.logger.debug("CA roots watch failed; retrying", { error: err instanceof Error ? err.message : String(err) });
          await this.#sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
        }
      }
    };
    loop().catch(() => {});
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#retryTimer = this.#d.clock.setTimer(ms, resolve);
    });
  }
}
