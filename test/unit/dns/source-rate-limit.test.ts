import { test } from "node:test";
import assert from "node:assert/strict";
import { SourceRateLimiter } from "../../../src/dns/source-rate-limit.ts";

test("dns source rate limit - a source gets a second's burst, then the rate; other sources are untouched", () => {
  const limiter = new SourceRateLimiter();
  let admitted = 0;
  for (let i = 0; i < 250; i++) if (limiter.admit("10.0.0.1", 100, 1000)) admitted++;
  assert.equal(admitted, 100, "the burst is one second's worth");
  assert.equal(limiter.admit("10.0.0.2", 100, 1000), true, "another source still gets through");
  assert.equal(limiter.admit("10.0.0.1", 100, 1005), false, "half a token is not a token");
  assert.equal(limiter.admit("10.0.0.1", 100, 1010), true, "10 ms refill one token at 100/s");
  assert.equal(limiter.limited, 151);
});

test("dns source rate limit - a rate of 0 means unbounded", () => {
  const limiter = new SourceRateLimiter();
  for (let i = 0; i < 10_000; i++) assert.equal(limiter.admit("10.0.0.1", 0, 0), true);
  assert.equal(limiter.trackedSources, 0);
});

test("dns source rate limit - the table of sources stays bounded under a flood of distinct (spoofed) sources", () => {
  const limiter = new SourceRateLimiter(100);
  for (let i = 0; i < 10_000; i++) limiter.admit(`10.1.${i >> 8}.${i & 255}`, 10, i / 100);
  assert.ok(limiter.trackedSources <= 100, `tracked ${limiter.trackedSources}`);
  // Sources idle long enough to have refilled are forgotten first.
  assert.equal(limiter.admit("10.9.9.9", 10, 1_000_000), true);
  assert.ok(limiter.trackedSources <= 100);
});
