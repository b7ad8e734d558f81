// The sequential specification of the simulator's KV store: per-key registers with put and
// get, checked key by key (linearizability is compositional).
import type { Model, Operation } from "./checker.ts";

export type KvInput = { op: "put"; key: string; value: string } | { op: "get"; key: string };
/** get: the value read (null when absent); put: null. */
export type KvOutput = string | null;
export type KvOperation = Operation<KvInput, KvOutput>;

export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    if (input.op === "put") return { ok: true, state: input.value };
    return { ok: output === undefined || output === state, state };
  },
  key: (state) => (state === null ? "\u0000" : state),
  partition(history) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.keys()].sort().map((k) => byKey.get(k) as KvOperation[]);
  },
};
