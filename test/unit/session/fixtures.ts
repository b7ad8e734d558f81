import type { Clock, TimerHandle } from "../../../src/runtime/clock.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { ApplyResult, CheckFields, Command } from "../../../src/fsm/command.ts";
import type { Session } from "../../../src/model/session.ts";
import { StateStore } from "../../../src/state/store.ts";

/** A clock that only moves when told to; timers fire in deadline order during advance(). */
export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  monotonicMs(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t = { at: this.#now + Math.max(0, delayMs), fn, live: true };
    this.#timers.push(t);
    return { cancel: () => void (t.live = false) };
  }

  get pendingTimers(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  /** Moves time forward, firing due timers in order and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    this.#timers = this.#timers.filter((t) => t.live);
    this.#now = target;
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

/** An fsm with its own index counter, plus helpers that build the usual commands. */
export class FsmHarness {
  readonly state = new StateStore();
  readonly fsm = new StateMachine(this.state);
  index = 0;

  apply(cmd: Command): ApplyResult {
    return this.fsm.apply(++this.index, cmd);
  }

  registerNode(node: string, checks: Partial<CheckFields>[] = [{ CheckID: "serfHealth", Status: "passing" }], nowMs = 0, service?: { ID: string; Service: string }): ApplyResult {
    return this.apply({
      Type: "catalog-register",
      Node: { ID: "", Node: node, Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: null, Meta: null },
      SkipNodeUpdate: false,
      Service: service
        ? { ...service, Tags: [], Address: "", Meta: null, Port: 0, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} }
        : undefined,
      Checks: checks.map((c) => check(node, c)),
      NowMs: nowMs,
    });
  }

  createSession(id: string, fields: Partial<Omit<Session, "ID" | "CreateIndex" | "ModifyIndex">> = {}): ApplyResult {
    return this.apply({
      Type: "session-create",
      Session: { ID: id, Name: "", Node: "n1", LockDelay: 15e9, Behavior: "release", TTL: "", NodeChecks: ["serfHealth"], ServiceChecks: null, ...fields },
    });
  }

  kv(op: "set" | "lock" | "unlock", key: string, value: string, session: string | undefined, nowMs: number): ApplyResult {
    return this.apply({ Type: "kv-set", Op: op, Key: key, Value: Buffer.from(value), Flags: 0n, Session: session, NowMs: nowMs });
  }
}

export function check(node: string, c: Partial<CheckFields>): CheckFields {
  return {
    Node: node,
    CheckID: "serfHealth",
    Name: "check",
    Status: "passing",
    Notes: "",
    Output: "",
    ServiceID: "",
    ServiceName: "",
    ServiceTags: [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
    ...c,
  };
}

export const S1 = "11111111-1111-1111-1111-111111111111";
export const S2 = "22222222-2222-2222-2222-222222222222";
