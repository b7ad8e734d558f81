import { test } from "node:test";
import assert from "node:assert/strict";
import { nextWaitIndex, runBlockingWatch } from "../../../src/cli/blocking-watch.ts";

/** Replays canned answers; records the index each read was sent with; stops when exhausted. */
function scripted(answers: { index: bigint; value: unknown }[]) {
  const sent: bigint[] = [];
  const fired: { index: bigint; value: unknown }[] = [];
  const controller = new AbortController();
  let i = 0;
  return {
    sent,
    fired,
    controller,
    fetch: (index: bigint) => {
      sent.push(index);
      const answer = answers[i++];
      if (answer === undefined) {
        controller.abort();
        return Promise.reject(new Error("done"));
      }
      return Promise.resolve(answer);
    },
    onChange: (index: bigint, value: unknown) => {
      fired.push({ index, value });
    },
  };
}

void test("watch - first answer fires, a wait timeout with the same index never fires", async () => {
  const s = scripted([
    { index: 5n, value: ["a"] },
    { index: 5n, value: ["a"] },
    { index: 5n, value: ["a"] },
    { index: 7n, value: ["b"] },
  ]);
  await runBlockingWatch({ fetch: s.fetch, onChange: s.onChange, signal: s.controller.signal, minIntervalMs: 0 });
  assert.deepEqual(s.fired, [
    { index: 5n, value: ["a"] },
    { index: 7n, value: ["b"] },
  ]);
  assert.deepEqual(s.sent, [0n, 5n, 5n, 5n, 7n]);
});

void test("watch - a new index with identical data does not fire", async () => {
  const s = scripted([
    { index: 5n, value: { k: 1 } },
    { index: 9n, value: { k: 1 } },
    { index: 12n, value: { k: 2 } },
  ]);
  await runBlockingWatch({ fetch: s.fetch, onChange: s.onChange, signal: s.controller.signal, minIntervalMs: 0 });
  assert.deepEqual(
    s.fired.map((f) => f.index),
    [5n, 12n],
  );
});

void test("watch - an index going backwards resets to a non-blocking read at 0", async () => {
  const s = scripted([
    { index: 50n, value: 1 },
    { index: 20n, value: 1 },
    { index: 20n, value: 1 },
    { index: 21n, value: 2 },
  ]);
  await runBlockingWatch({ fetch: s.fetch, onChange: s.onChange, signal: s.controller.signal, minIntervalMs: 0 });
  assert.deepEqual(s.sent, [0n, 50n, 0n, 20n, 21n]);
  assert.deepEqual(
    s.fired.map((f) => f.value),
    [1, 2],
  );
});

void test("watch - an index of 0 is never sent back as a blocking index", () => {
  assert.equal(nextWaitIndex(0n, 0n, true), 1n);
  assert.equal(nextWaitIndex(9n, 3n, true), 0n);
  assert.equal(nextWaitIndex(9n, 3n, false), 3n);
  assert.equal(nextWaitIndex(3n, 9n, true), 9n);
});

void test("watch - errors back off and restart from index 0 without re-firing unchanged data", async () => {
  const sent: bigint[] = [];
  const fired: unknown[] = [];
  const controller = new AbortController();
  const errors: number[] = [];
  const answers: ({ index: bigint; value: unknown } | Error)[] = [
    { index: 4n, value: "x" },
    new Error("boom"),
    { index: 4n, value: "x" },
    { index: 6n, value: "y" },
  ];
  let i = 0;
  await runBlockingWatch({
    fetch: (index) => {
      sent.push(index);
      const answer = answers[i++];
      if (answer === undefined) {
        controller.abort();
        return Promise.reject(new Error("done"));
      }
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    onChange: (_index, value) => void fired.push(value),
    onError: (_err, retry) => void errors.push(retry),
    signal: controller.signal,
    minIntervalMs: 0,
    retryBaseMs: 1,
  });
  assert.deepEqual(fired, ["x", "y"]);
  assert.deepEqual(sent, [0n, 4n, 0n, 4n, 6n]);
  assert.deepEqual(errors, [1]);
});

void test("watch - tight loops are rate limited", async () => {
  let calls = 0;
  const controller = new AbortController();
  const started = Date.now();
  await runBlockingWatch({
    fetch: () => {
      calls++;
      if (calls === 4) controller.abort();
      return Promise.resolve({ index: BigInt(calls), value: calls });
    },
    onChange: () => undefined,
    signal: controller.signal,
    minIntervalMs: 40,
  });
  assert.equal(calls, 4);
  assert.ok(Date.now() - started >= 110, "three pauses of at least 40 ms between four reads");
});
