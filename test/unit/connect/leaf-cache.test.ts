import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeafCache, type RootsSummary, type SignedLeafReply } from "../../../src/connect/leaf-cache.ts";
import type { Clock, TimerHandle } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import { eventually } from "../../support/eventually.ts";

/** A clock whose timers fire only when the test advances it. */
class ManualClock implements Clock {
  nowMs = Date.parse("2026-01-01T00:00:00Z");
  timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now(): number {
    return this.nowMs;
  }
  monotonicMs(): number {
    return this.nowMs;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t = { at: this.nowMs + delayMs, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }
  advance(ms: number): void {
    this.nowMs += ms;
    const due = this.timers.filter((t) => !t.cancelled && t.at <= this.nowMs);
    this.timers = this.timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  }
}

const HOUR = 3_600_000;

function harness() {
  const clock = new ManualClock();
  let serial = 0;
  const signed: string[] = [];
  let roots: RootsSummary = { index: 5, activeRootId: "root-1", trustDomain: "11111111-2222-3333-4444-555555555555.consul" };
  let rootsWaiter: (() => void) | undefined;
  const cache = new LeafCache({
    clock,
    rng: seededRng(7),
    logger: silentLogger,
    datacenter: "dc1",
    sign(csrPem: string): Promise<SignedLeafReply> {
      serial++;
      signed.push(csrPem);
      const now = clock.now();
      return Promise.resolve({
        SerialNumber: serial.toString(16).padStart(2, "0"),
        CertPEM: `cert-${serial}`,
        Service: "web",
        ServiceURI: "spiffe://x/ns/default/dc/dc1/svc/web",
        ValidAfter: new Date(now - 60_000).toISOString(),
        ValidBefore: new Date(now + 72 * HOUR).toISOString(),
        Namespace: "default",
        RootID: roots.activeRootId,
        CreateIndex: 100 + serial,
        ModifyIndex: 100 + serial,
      });
    },
    roots(minIndex: number): Promise<RootsSummary> {
      if (minIndex === 0 || roots.index > minIndex) return Promise.resolve(roots);
      return new Promise((resolve) => (rootsWaiter = () => resolve(roots)));
    },
  });
  const rotate = (): void => {
    roots = { ...roots, index: roots.index + 1, activeRootId: `root-${roots.index}` };
    rootsWaiter?.();
  };
  return { clock, cache, signed, rotate };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("agent leaf cache", () => {
  it("serves the cached leaf, renews it between 60 % and 90 % of its life, and re-issues at once on a root rotation", async () => {
    const { clock, cache, signed, rotate } = harness();
    const first = await cache.get("web", "", 0, 0);
    assert.equal(first.CertPEM, "cert-1");
    assert.match(first.PrivateKeyPEM, /EC PRIVATE KEY/);
    assert.match(signed[0], /BEGIN CERTIFICATE REQUEST/);
    assert.equal((await cache.get("web", "", 0, 0)).CertPEM, "cert-1");

    clock.advance(0.6 * 72 * HOUR - 2 * 60_000);
    await settle();
    assert.equal(signed.length, 1, "no renewal before 60 % of the lifetime");
    clock.advance(0.3 * 72 * HOUR + 2 * 60_000);
    // The renewal makes a new key pair (in the thread pool) before it signs: waited for, not
    // given 50 ms, which a loaded machine overran (still 1 signed after 50 ms in a loaded run).
    await eventually("the renewal by 90 % of the lifetime", () => Promise.resolve(signed.length >= 2), 10_000, 10);
    assert.equal(signed.length, 2, "renewed once by 90 % of the lifetime");
    const renewed = await cache.get("web", "", first.ModifyIndex, 1000);
    assert.equal(renewed.CertPEM, "cert-2");

    const waiting = cache.get("web", "", renewed.ModifyIndex, 60_000);
    rotate();
    await settle();
    assert.equal((await waiting).CertPEM, "cert-3");
    cache.stop();
  });

  it("drops a leaf nobody asked for in three days instead of renewing it", async () => {
    const { clock, cache, signed } = harness();
    await cache.get("web", "", 0, 0);
    for (let i = 0; i < 6; i++) {
      clock.advance(24 * HOUR);
      await settle();
    }
    assert.ok(signed.length <= 3);
    assert.equal(cache.size, 0);
    cache.stop();
  });
});
