// Every agent flag is honoured or refused with a message naming it, never parsed and dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadRuntimeConfig, type LoadOptions } from "../../../src/config/load.ts";
import type { AgentFlagValues } from "../../../src/config/agent-flags.ts";
import { ConfigError } from "../../../src/config/config-error.ts";
import { parseAgentArgs } from "../../../src/cli/agent.ts";

const io: LoadOptions = {
  hostname: () => "devhost",
  randomUUID: () => "01234567-89ab-cdef-0123-456789abcdef",
  networkInterfaces: () => ({}),
  readFile: () => Promise.reject(new Error("no files in this test")),
};

function flags(args: string[]): AgentFlagValues {
  const parsed = parseAgentArgs(["-dev", ...args]);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.flags;
}

void test("agent flags - retry, recursor and log-rotate flags reach the configuration", async () => {
  const rt = await loadRuntimeConfig(
    flags([
      "-retry-interval=2s",
      "-retry-max=5",
      "-retry-interval-wan=3s",
      "-retry-max-wan=7",
      "-recursor=1.1.1.1",
      "-recursor=8.8.8.8:53",
      "-log-file=/tmp/consulate-logs/",
      "-log-rotate-bytes=1024",
      "-log-rotate-duration=1h",
      "-log-rotate-max-files=3",
      "-disable-host-node-id",
      "-https-port=-1",
      "-grpc-port=-1",
    ]),
    io,
  );
  assert.equal(rt.retryIntervalMs, 2000);
  assert.equal(rt.retryMax, 5);
  assert.equal(rt.retryIntervalWanMs, 3000);
  assert.equal(rt.retryMaxWan, 7);
  assert.deepEqual(rt.recursors, ["1.1.1.1", "8.8.8.8:53"]);
  assert.equal(rt.logFile, "/tmp/consulate-logs/");
  assert.deepEqual(rt.logRotate, { bytes: 1024, durationMs: 3_600_000, maxFiles: 3 });
});

void test("agent flags - what Consulate cannot do is refused at start, naming the flag or key", async () => {
  const cases: [string[], RegExp][] = [
    [["-grpc-port=8502"], /^ports\.grpc = 8502 \(set in [^)]+\) is not supported by Consulate yet/],
    [["-rejoin"], /^rejoin_after_leave = true \(set in [^)]+\) is not supported by Consulate yet/],
    [["-syslog"], /^enable_syslog = true \(set in [^)]+\) is not supported by Consulate yet/],
    [["-disable-host-node-id=false"], /^disable_host_node_id = false \(set in [^)]+\) is not supported by Consulate yet/],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(loadRuntimeConfig(flags(args), io), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, message);
      return true;
    });
  }
});

void test("agent flags - -node-meta is checked as Consul checks it", async () => {
  await assert.rejects(loadRuntimeConfig(flags(["-node-meta=nocolon"]), io), /Missing ":" in value "nocolon"/);
  await assert.rejects(loadRuntimeConfig(flags(["-node-meta=consul-x:1"]), io), /node_meta invalid: Key prefix 'consul-' is reserved for internal use/);
  const rt = await loadRuntimeConfig(flags(["-node-meta=rack:r1:a"]), io);
  assert.deepEqual(rt.nodeMeta, { rack: "r1:a" });
});
