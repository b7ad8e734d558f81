import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import Consul from "consul";
import { spawnDevAgent, type AgentProcess } from "../support/agent-process.ts";

// Two npm `consul` clients contending for one lock through a real `consulate agent -dev`.
// consul@2 dropped its lock() helper, so each contender runs the recipe that helper (and
// Consul's api.Lock) implements: create a session, PUT ?acquire, and while someone else holds
// the key, block on GET ?index=<ModifyIndex> until its Session is gone, then retry.

const KEY = "service/leader";

let agent: AgentProcess;
const clients: Consul[] = [];
before(async () => {
  agent = await spawnDevAgent();
});
after(async () => {
  for (const c of clients) c.destroy();
  await agent?.kill();
});

interface KvItem {
  Key: string;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
  Value: string | null;
}

class Contender {
  readonly consul: Consul;
  readonly name: string;
  session = "";

  constructor(name: string) {
    this.name = name;
    this.consul = new Consul({ host: "127.0.0.1", port: agent.httpPort });
    clients.push(this.consul);
  }

  async openSession(lockDelay: string): Promise<void> {
    const created = (await this.consul.session.create({ name: `lock-${this.name}`, ttl: "15s", lockdelay: lockDelay, behavior: "release" })) as { ID: string };
    this.session = created.ID;
  }

  async tryAcquire(): Promise<boolean> {
    return (await this.consul.kv.set({ key: KEY, value: this.name, acquire: this.session })) === true;
  }

  /** Acquires, waiting on the key with blocking queries while another session holds it. */
  async acquire(deadlineMs = 10_000): Promise<void> {
    const giveUp = Date.now() + deadlineMs;
    for (;;) {
      if (await this.tryAcquire()) return;
      if (Date.now() > giveUp) throw new Error(`${this.name}: lock not acquired in time`);
      const item = (await this.consul.kv.get(KEY)) as KvItem | undefined;
      if (item?.Session && item.Session !== this.session) {
        // The client sends index/wait (utils.options) though its typings omit them.
        const blocking = { key: KEY, index: String(item.ModifyIndex), wait: "2s" };
        await this.consul.kv.get(blocking);
      } else {
        // Free but refused: lock-delay. Consul's clients back off and retry.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async release(): Promise<boolean> {
    return (await this.consul.kv.set({ key: KEY, value: this.name, release: this.session })) === true;
  }
}

async function holder(consul: Consul): Promise<KvItem | undefined> {
  return (await consul.kv.get(KEY)) as KvItem | undefined;
}

test("lock - two clients contend; the second gets the lock only after the first releases it", async () => {
  const a = new Contender("a");
  const b = new Contender("b");
  await a.openSession("1s");
  await b.openSession("1s");
  assert.equal(await a.tryAcquire(), true);
  assert.equal(await b.tryAcquire(), false, "held by a");
  const bAcquired = b.acquire();
  let bDone = false;
  void bAcquired.then(() => (bDone = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(bDone, false, "b still waiting while a holds the lock");
  assert.equal(await a.release(), true);
  await bAcquired;
  const item = await holder(a.consul);
  assert.equal(item?.Session, b.session);
  assert.equal(item?.LockIndex, 2);
  assert.equal(item?.Value, "b");
  assert.equal(await b.release(), true);
  await a.consul.session.destroy(a.session);
  await b.consul.session.destroy(b.session);
});

test("lock - when the holder's session dies the lock is released and lock-delay holds off the other client", async () => {
  const a = new Contender("a");
  const b = new Contender("b");
  await a.openSession("1500ms");
  await b.openSession("0s");
  assert.equal(await a.tryAcquire(), true);
  // Timed from before the destroy: the lock-delay runs from the invalidation, and the reads in
  // between take longer on a busy machine, which would eat into a bound timed from after them.
  const started = Date.now();
  await a.consul.session.destroy(a.session);
  const freed = await holder(b.consul);
  assert.equal(freed?.Session, undefined, "invalidation released the key");
  assert.equal(await b.tryAcquire(), false, "refused during lock-delay");
  await b.acquire();
  assert.ok(Date.now() - started >= 1_400, `acquired ${Date.now() - started} ms after the destroy`);
  assert.equal((await holder(b.consul))?.Session, b.session);
  await b.consul.session.destroy(b.session);
});

test("lock - mutual exclusion under contention: never two holders at once", async () => {
  const contenders = [new Contender("x"), new Contender("y")];
  for (const c of contenders) await c.openSession("0s");
  let inside = 0;
  let maxInside = 0;
  const turns = new Map<string, number>();
  await Promise.all(
    contenders.map(async (c) => {
      for (let i = 0; i < 8; i++) {
        await c.acquire();
        inside++;
        maxInside = Math.max(maxInside, inside);
        const seen = await holder(c.consul);
        assert.equal(seen?.Session, c.session, "the store agrees who holds the lock");
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        turns.set(c.name, (turns.get(c.name) ?? 0) + 1);
        assert.equal(await c.release(), true);
      }
    }),
  );
  assert.equal(maxInside, 1);
  assert.deepEqual([...turns.values()], [8, 8]);
  for (const c of contenders) await c.consul.session.destroy(c.session);
});
