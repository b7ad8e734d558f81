import { test } from "node:test";
import assert from "node:assert/strict";
import { longestBetween, type TurnRecord } from "../../../bench/large-request.ts";

// The large-request suite cuts the agent's turn records into phases. The tracker stamps a turn
// when its timer fires after it (`at` = its end), which can be after the client had its answer:
// a phase must own the turns that began inside it, or the idle phase following the warm-up
// reports the warm-up's last turn (the 10 ms "idle" turn) and each case loses its trailing ones.

const FROM = 10_000;
const TO = 13_000;

void test("large-request phases - a turn belongs to the phase it began in, not the one it was stamped in", () => {
  const records: TurnRecord[] = [
    // The previous phase's last turn: began before FROM, stamped after it.
    { at: FROM + 5, wallMs: 12, cpuMs: 10, processCpuMs: 11 },
    // A turn of this phase.
    { at: FROM + 500, wallMs: 3, cpuMs: 2, processCpuMs: 2.5 },
    // This phase's last turn: began before TO, stamped after it.
    { at: TO + 4, wallMs: 7, cpuMs: 6, processCpuMs: 6.5 },
    // A GC pause that began in the phase; one that began after it.
    { at: FROM + 800, gcMs: 4 },
    { at: TO + 50, gcMs: 9 },
  ];
  const longest = longestBetween(records, FROM, TO);
  assert.equal(longest.wallMs, 7);
  assert.equal(longest.cpuMs, 6.5);
  assert.equal(longest.gcMs, 4);
});

void test("large-request phases - a turn's CPU never exceeds its wall time (the thread clock moves at scheduler ticks)", () => {
  // schedstat read 4 ms for a 0.5 ms turn; the process clock read 0.4 ms.
  const longest = longestBetween([{ at: FROM + 100, wallMs: 0.5, cpuMs: 4, processCpuMs: 0.4 }], FROM, TO);
  assert.equal(longest.cpuMs, 0.4);
  assert.equal(longest.threadCpuMs, 0.5);
  // Without the process clock (older records) the thread clock is used, capped at wall time.
  assert.equal(longestBetween([{ at: FROM + 100, wallMs: 0.5, cpuMs: 4 }], FROM, TO).cpuMs, 0.5);
});
