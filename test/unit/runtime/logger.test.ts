// The hclog line format, which tests and operators grep: timestamp, padded level tag, module,
// message, then key=value fields (strings bare unless they hold whitespace, the rest as JSON).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, LogHub } from "../../../src/runtime/logger.ts";

test("logger - text lines: level tag, module path, and fields quoted only when they must be", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", json: false, write: (l) => lines.push(l), now: () => new Date("2026-01-02T03:04:05.678Z") }).named("agent").named("http");
  log.debug("Request finished", { method: "GET", url: "/v1/kv/a b", latency: "1ms", n: 3, ok: true, list: ["x"], none: undefined });
  log.info("no fields");
  log.warn("empty fields", {});
  log.trace("below the level");
  assert.deepEqual(lines, [
    '2026-01-02T03:04:05.678Z [DEBUG] agent.http: Request finished: method=GET url="/v1/kv/a b" latency=1ms n=3 ok=true list=["x"] none=undefined\n',
    "2026-01-02T03:04:05.678Z [INFO]  agent.http: no fields\n",
    "2026-01-02T03:04:05.678Z [WARN]  agent.http: empty fields\n",
  ]);
});

test("logger - the real clock's timestamps are ISO-8601 UTC with milliseconds, and move on", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", json: false, write: (l) => lines.push(l) });
  log.info("one");
  await new Promise((r) => setTimeout(r, 5));
  log.info("two");
  const stamps = lines.map((l) => l.slice(0, l.indexOf(" ")));
  for (const s of stamps) assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(stamps[1]) > Date.parse(stamps[0]));
  assert.ok(Math.abs(Date.parse(stamps[1]) - Date.now()) < 5000);
});

test("logger - JSON lines and a monitor finer than the agent's level", () => {
  const lines: string[] = [];
  const seen: string[] = [];
  const hub = new LogHub();
  const log = createLogger({ level: "info", json: true, write: (l) => lines.push(l), hub, now: () => new Date(0) }, "agent");
  const stop = hub.subscribe("debug", false, (l) => seen.push(l));
  assert.equal(log.enabled?.("debug"), true);
  log.debug("detail", { k: "v" });
  stop();
  assert.equal(log.enabled?.("debug"), false);
  log.info("shown", { k: 1 });
  assert.deepEqual(seen, ["1970-01-01T00:00:00.000Z [DEBUG] agent: detail: k=v\n"]);
  assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), [{ "@level": "info", "@message": "shown", "@module": "agent", "@timestamp": "1970-01-01T00:00:00.000Z", k: 1 }]);
});
