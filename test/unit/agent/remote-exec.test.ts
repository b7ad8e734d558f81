// The agent's half of `consul exec` against a fake KV: the spec is read (stale first, then
// consistent), then ack, output chunks (4 KiB at most; empty ones are heartbeats after the
// spec's Wait of silence) and the exit code are acquired under <prefix>/<session>/<node>/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteExecutor, type RemoteExecRequest } from "../../../src/agent/remote-exec.ts";
import { systemClock } from "../../../src/runtime/clock.ts";
import { silentLogger } from "../../../src/runtime/logger.ts";

interface Write {
  key: string;
  value: Buffer;
  query: string;
}

function fakeKv(spec: Record<string, unknown> | undefined, staleMisses = 0): { request: (r: RemoteExecRequest) => Promise<{ status: number; body: string | Buffer }>; writes: Write[]; reads: string[] } {
  const writes: Write[] = [];
  const reads: string[] = [];
  let misses = staleMisses;
  return {
    writes,
    reads,
    request(r) {
      const key = decodeURIComponent(r.path.replace(/^\/v1\/kv\//, ""));
      if (r.method === "GET") {
        reads.push(r.rawQuery);
        if (spec === undefined || (r.rawQuery.includes("stale") && misses-- > 0)) return Promise.resolve({ status: 404, body: "" });
        return Promise.resolve({ status: 200, body: Buffer.from(JSON.stringify(spec)) });
      }
      writes.push({ key, value: r.body ?? Buffer.alloc(0), query: r.rawQuery });
      return Promise.resolve({ status: 200, body: "true" });
    },
  };
}

function executor(request: (r: RemoteExecRequest) => Promise<{ status: number; body: string | Buffer }>): RemoteExecutor {
  return new RemoteExecutor({ nodeName: "n1", clock: systemClock, logger: silentLogger, request, agentToken: () => "", shell: "/bin/sh" });
}

const event = (session: string): Uint8Array => Buffer.from(JSON.stringify({ Prefix: "_rexec", Session: session }));

test("remote exec - ack, 4 KiB output chunks in order, exit code; every write acquires with the job's session", async () => {
  const kv = fakeKv({ Command: "yes a | head -c 10000; exit 7", Wait: 5e9 });
  const rexec = executor(kv.request);
  rexec.handle("ev-1", event("s-1"));
  await rexec.idle();
  assert.deepEqual(
    kv.writes.map((w) => [w.key, w.value.length]),
    [
      ["_rexec/s-1/n1/ack", 0],
      ["_rexec/s-1/n1/out/00000", 4096],
      ["_rexec/s-1/n1/out/00001", 4096],
      ["_rexec/s-1/n1/out/00002", 1808],
      ["_rexec/s-1/n1/exit", 1],
    ],
  );
  assert.ok(kv.writes.every((w) => w.query === "acquire=s-1"));
  assert.equal(kv.writes.at(-1)?.value.toString(), "7");
  assert.match(kv.writes[1].value.toString(), /^(a\n)+$/);
});

test("remote exec - silence longer than the spec's Wait sends empty heartbeat chunks; Args run without a shell", async () => {
  const kv = fakeKv({ Args: ["/bin/sh", "-c", "sleep 0.5; echo done"], Wait: 100e6 });
  const rexec = executor(kv.request);
  rexec.handle("ev-2", event("s-2"));
  await rexec.idle();
  const outputs = kv.writes.filter((w) => w.key.includes("/out/"));
  assert.ok(outputs.filter((w) => w.value.length === 0).length >= 2, "heartbeats while the command was quiet");
  assert.equal(outputs.at(-1)?.value.toString(), "done\n");
  assert.deepEqual(
    outputs.map((w) => w.key),
    outputs.map((_, i) => `_rexec/s-2/n1/out/${i.toString(16).padStart(5, "0")}`),
  );
  assert.equal(kv.writes.at(-1)?.value.toString(), "0");
});

test("remote exec - a script is run from a file; a command that cannot start exits 255; a missing spec is not acknowledged", async () => {
  const script = fakeKv({ Script: Buffer.from("#!/bin/sh\necho scripted $0\n").toString("base64"), Wait: 5e9 }, 1);
  const a = executor(script.request);
  a.handle("ev-3", event("s-3"));
  await a.idle();
  assert.deepEqual(script.reads, ["raw&stale", "raw"], "a stale miss is retried as a consistent read");
  assert.match(script.writes.find((w) => w.key.endsWith("/out/00000"))?.value.toString() ?? "", /^scripted \/.*rexec-.*\/script\n$/);
  assert.equal(script.writes.at(-1)?.value.toString(), "0");

  const missing = fakeKv({ Args: ["/nonexistent/binary"], Wait: 5e9 });
  const b = executor(missing.request);
  b.handle("ev-4", event("s-4"));
  await b.idle();
  assert.deepEqual(
    missing.writes.map((w) => [w.key, w.value.toString()]),
    [
      ["_rexec/s-4/n1/ack", ""],
      ["_rexec/s-4/n1/exit", "255"],
    ],
  );

  const none = fakeKv(undefined);
  const c = executor(none.request);
  c.handle("ev-5", event("s-5"));
  await c.idle();
  assert.deepEqual(none.writes, []);
});
