import { test } from "node:test";
import assert from "node:assert/strict";
import { scriptProbe } from "../../../src/checks/script.ts";

const run = (args: string[], outputMaxSize = 4096) => scriptProbe({ args, timeoutMs: 30_000, outputMaxSize })(new AbortController().signal);

test("script check - exit 0 is passing, 1 warning, anything else critical; stdout and stderr are captured", async () => {
  assert.deepEqual(await run(["sh", "-c", "echo fine"]), { status: "passing", output: "fine\n" });
  assert.deepEqual(await run(["sh", "-c", "echo degraded >&2; exit 1"]), { status: "warning", output: "degraded\n" });
  assert.deepEqual(await run(["sh", "-c", "echo broken; exit 2"]), { status: "critical", output: "broken\n" });
});

test("script check - long output keeps the tail and says how much was captured", async () => {
  const r = await run(["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' a; printf END"], 100);
  assert.equal(r.status, "passing");
  assert.ok(r.output.startsWith("Captured 100 of 5003 bytes\n...\n"));
  assert.ok(r.output.endsWith("END"));
});

test("script check - killed at the timeout, critical with Consul's text, reported past thresholds", async () => {
  const abort = new AbortController();
  const started = Date.now();
  const pending = scriptProbe({ args: ["sh", "-c", "echo starting; sleep 30"], timeoutMs: 1_500, outputMaxSize: 4096 })(abort.signal);
  setTimeout(() => abort.abort(), 100);
  const r = await pending;
  // Killed at the 1.5 s timeout, well before the 30 s sleep ends; 5 s was a budget a busy CI machine can overrun.
  assert.ok(Date.now() - started < 15_000, "the process group was killed");
  assert.deepEqual(r, { status: "critical", output: "Timed out (1.5s) running check\n\nstarting\n", bypassThresholds: true });
});

test("script check - a missing executable is critical with Go's exec error", async () => {
  assert.deepEqual(await run(["no-such-command-xyz"]), {
    status: "critical",
    output: 'exec: "no-such-command-xyz": executable file not found in $PATH',
    bypassThresholds: true,
  });
});
