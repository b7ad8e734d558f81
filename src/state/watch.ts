// Watches are named topics ("kv", "kv/<key>", "services", "service/<name>"…). A query records
// the topics it read into a WatchSet; the blocking engine waits until any of them fires.
// Topic strings keep the store free of closures per row and make a restore simple: fire all.

export type Wake = () => void;

export class WatchHub {
  readonly #topics = new Map<string, Set<Wake>>();
  /** Bumped by every restore, so waiters can tell "everything changed" from a plain wake. */
  restoreEpoch = 0;

  /** Registers `wake` on every topic; returns a function that unregisters it from all. */
  subscribe(topics: Iterable<string>, wake: Wake): () => void {
    const joined: [string, Set<Wake>][] = [];
    for (const t of topics) {
      let set = this.#topics.get(t);
      if (!set) {
        set = new Set();
        this.#topics.set(t, set);
      }
      set.add(wake);
      joined.push([t, set]);
    }
    return () => {
      // An emptied topic is dropped, so abandoned queries on many distinct keys leave nothing.
      for (const [t, set] of joined) {
        if (set.delete(wake) && set.size === 0 && this.#topics.get(t) === set) this.#topics.delete(t);
      }
    };
  }

  notify(topic: string): void {
    const set = this.#topics.get(topic);
    if (!set || set.size === 0) return;
    this.#topics.delete(topic);
    for (const wake of set) wake();
  }

  /** A snapshot restore changes everything: every waiter re-evaluates. */
  notifyAll(): void {
    this.restoreEpoch++;
    const all = [...this.#topics.values()];
    this.#topics.clear();
    for (const set of all) for (const wake of set) wake();
  }

  get topicCount(): number {
    return this.#topics.size;
  }
}

/** The topics one query evaluation depended on. */
export class WatchSet {
  readonly topics = new Set<string>();
  add(topic: string): void {
    this.topics.add(topic);
  }
}

export const Topics = {
  kvTable: "kv",
  kvKey: (key: string) => `kv/${key}`,
  nodes: "nodes",
  services: "services",
  checks: "checks",
  serviceName: (name: string) => `service/${name.toLowerCase()}`,
  node: (name: string) => `node/${name.toLowerCase()}`,
  sessions: "sessions",
  coordinates: "coordinates",
  preparedQueries: "prepared-queries",
  autopilot: "autopilot",
  connectCaRoots: "connect-ca-roots",
  connectCaConfig: "connect-ca-config",
  configEntryKind: (kind: string) => `config-entry/${kind}`,
} as const;
