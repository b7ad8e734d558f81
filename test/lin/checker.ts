// A Wing–Gong / Lowe linearizability checker in the style of Porcupine: search for an order
// of the operations that respects real time (an operation that returned before another was
// called comes first) and that the sequential model accepts, with backtracking and a cache
// of (set of linearized operations, model state) pairs already explored.

export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** Undefined when the outcome is unknown (timed out): it may take effect at any later time. */
  output: O | undefined;
  call: number;
  /** Infinity when no response was seen. */
  return: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Applies input to state; ok=false when output could not be observed from that state. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A stable key for states, used by the cache. */
  key(state: S): string;
  /** Splits a history into independent sub-histories (e.g. per key); default: one partition. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
}

interface Node {
  isCall: boolean;
  id: number;
  time: number;
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

export interface CheckResult {
  ok: boolean;
  /** The partition that failed (operation indexes into it), for the error report. */
  failedPartition?: number;
}

export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[]): CheckResult {
  const parts = model.partition ? model.partition(history) : [history];
  for (let p = 0; p < parts.length; p++) {
    if (!checkPartition(model, parts[p])) return { ok: false, failedPartition: p };
  }
  return { ok: true };
}

function checkPartition<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  if (ops.length === 0) return true;
  type Event = { isCall: boolean; id: number; time: number };
  const events: Event[] = [];
  ops.forEach((op, id) => {
    events.push({ isCall: true, id, time: op.call });
    events.push({ isCall: false, id, time: op.return });
  });
  // Calls sort before returns at the same instant: touching operations count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));

  const head: Node = { isCall: false, id: -1, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let tail = head;
  const calls = new Map<number, Node>();
  for (const ev of events) {
    const node: Node = { isCall: ev.isCall, id: ev.id, time: ev.time, match: undefined, prev: tail, next: undefined };
    tail.next = node;
    tail = node;
    if (ev.isCall) calls.set(ev.id, node);
    else {
      const call = calls.get(ev.id);
      if (!call) throw new Error("return before call");
      call.match = node;
    }
  }

  const lift = (n: Node): void => {
    const m = n.match as Node;
    (n.prev as Node).next = n.next;
    if (n.next) n.next.prev = n.prev;
    (m.prev as Node).next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (n: Node): void => {
    const m = n.match as Node;
    (m.prev as Node).next = m;
    if (m.next) m.next.prev = m;
    (n.prev as Node).next = n;
    if (n.next) n.next.prev = n;
  };

  const linearized = new Uint8Array(ops.length);
  const cache = new Set<string>();
  const stack: { node: Node; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  while (head.next !== undefined) {
    if (entry === undefined) throw new Error("linearizability search ran off the list");
    if (entry.isCall) {
      const op = ops[entry.id];
      const res = model.step(state, op.input, op.output);
      if (res.ok) {
        linearized[entry.id] = 1;
        const key = `${bitsKey(linearized)}|${model.key(res.state)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node: entry, state });
          state = res.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.id] = 0;
      }
      entry = entry.next;
    } else {
      // A return was reached before its call could be linearized: undo the last choice.
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized[top.node.id] = 0;
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return true;
}

function bitsKey(bits: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bits.length; i += 16) {
    let word = 0;
    for (let j = 0; j < 16 && i + j < bits.length; j++) word |= bits[i + j] << j;
    s += String.fromCharCode(word);
  }
  return s;
}
