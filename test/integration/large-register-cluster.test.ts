import { test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { spawnAgent, type AgentProcess } from "../support/agent-process.ts";
import { serverArgs, serverSpec, type ServerSpec } from "../support/server-cluster.ts";
import { eventually, getJson } from "../support/eventually.ts";

// Issue 12 item 6, end to end: three real server processes on loopback; the leader takes a
// series of catalog registrations as large as the endpoint's body cap (512 KiB) while the
// followers are asked /v1/status/leader without pause and small KV writes go to the leader.
// Before the body caps and the sliced decode/apply, one such request held every server's
// loop for seconds and the followers stopped answering.
//
// Asserted are outcomes and ordering, not speed: every large registration is stored, every
// status request to a follower is answered with the one leader, the leadership does not move,
// and small writes are acknowledged while the large ones are in progress (between the first
// one's start and the last one's answer). The worst latencies are printed for the record.

const BODY_CAP = 512 * 1024;
const LARGE_REQUESTS = 4;
/** A bound on any single answer, far above what any machine needs (a hang fails, not a slow answer). */
const ANSWER_BOUND_MS = 20_000;

/** A registration of `Node` with as many checks as fit under the body cap. */
function capSizedRegistration(node: string): string {
  const check = (i: number) => ({ Node: node, CheckID: `check-${i}`, Name: `check ${i}`, Status: "passing", Notes: "body-cap registration", Output: "ok" });
  const per = JSON.stringify(check(99_999)).length + 1;
  const count = Math.floor((BODY_CAP - 200) / per);
  const body = JSON.stringify({ Node: node, Address: "10.20.30.40", Checks: Array.from({ length: count }, (_, i) => check(i)) });
  assert.ok(body.length <= BODY_CAP && body.length > BODY_CAP * 0.9, `body of ${body.length} bytes`);
  return body;
}

interface Probe {
  answered: number;
  failures: string[];
  worstMs: number;
  stop(): Promise<void>;
}

/** Asks `server` /v1/status/leader back to back until stopped, recording failures and the worst answer time. */
function probeLeader(server: AgentProcess, leader: string): Probe {
  let stopped = false;
  const probe: Probe = {
    answered: 0,
    failures: [],
    worstMs: 0,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
  const loop = (async () => {
    while (!stopped) {
      const sent = performance.now();
      try {
        const res = await fetch(`${server.base}/v1/status/leader`, { signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
        const body = (await res.json()) as string;
        if (res.status !== 200 || body !== leader) probe.failures.push(`answered ${res.status} ${JSON.stringify(body)}`);
        else probe.answered++;
      } catch (err) {
        probe.failures.push(String(err));
      }
      probe.worstMs = Math.max(probe.worstMs, performance.now() - sent);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return probe;
}

interface Writer {
  /** Acknowledgement times of the small writes, in order. */
  ackedAt: number[];
  failures: string[];
  worstMs: number;
  stop(): Promise<void>;
}

/** Small KV writes to `server`, one after another, until stopped. */
function smallWrites(server: AgentProcess): Writer {
  let stopped = false;
  const writer: Writer = {
    ackedAt: [],
    failures: [],
    worstMs: 0,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const sent = performance.now();
      try {
        const res = await fetch(`${server.base}/v1/kv/small/${n % 16}`, { method: "PUT", body: `v${n}`, signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
        const body = await res.text();
        if (res.status === 200 && body.trim() === "true") writer.ackedAt.push(performance.now());
        else writer.failures.push(`write ${n} answered ${res.status} ${body.slice(0, 200)}`);
      } catch (err) {
        writer.failures.push(`write ${n}: ${String(err)}`);
      }
      writer.worstMs = Math.max(writer.worstMs, performance.now() - sent);
    }
  })();
  return writer;
}

void test("cluster - body-cap catalog registrations at the leader: followers keep answering status/leader and small writes keep committing", async (t) => {
  const specs: ServerSpec[] = [];
  for (const [i, bind] of ["127.0.0.1", "127.0.0.2", "127.0.0.3"].entries()) specs.push(await serverSpec(`big-${i + 1}`, bind));
  const running: AgentProcess[] = [];
  t.after(async () => {
    for (const p of running) await p.kill();
    for (const s of specs) await rm(s.dataDir, { recursive: true, force: true });
  });
  for (const spec of specs) running.push(await spawnAgent(serverArgs(spec, 3, specs), { httpPort: spec.httpPort, timeoutMs: 30_000 }));

  let leader = "";
  await eventually(
    "one leader agreed by all three servers",
    async () => {
      const seen = await Promise.all(running.map((s) => getJson<string>(`${s.base}/v1/status/leader`)));
      leader = seen[0] !== "" && seen.every((l) => l === seen[0]) ? seen[0] : "";
      return leader !== "";
    },
    30_000,
  );
  const leaderIndex = specs.findIndex((s) => `${s.bind}:${s.serverPort}` === leader);
  assert.ok(leaderIndex >= 0, `the leader ${leader} is one of the servers`);
  const leaderProc = running[leaderIndex];
  const followers = running.filter((_, i) => i !== leaderIndex);
  // The cluster takes writes before the measured part begins.
  await eventually("a first write is acknowledged", async () => (await fetch(`${leaderProc.base}/v1/kv/small/warm`, { method: "PUT", body: "x" })).status === 200, 15_000);

  const bodies = Array.from({ length: LARGE_REQUESTS }, (_, i) => capSizedRegistration(`cap-node-${i}`));
  const probes = followers.map((f) => probeLeader(f, leader));
  const writer = smallWrites(leaderProc);
  let firstSent = 0;
  let lastAnswered = 0;
  const largeMs: number[] = [];
  try {
    firstSent = performance.now();
    for (const [i, body] of bodies.entries()) {
      const sent = performance.now();
      const res = await fetch(`${leaderProc.base}/v1/catalog/register`, { method: "PUT", body, signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
      assert.equal(res.status, 200, `registration ${i}: ${await res.clone().text()}`);
      assert.equal((await res.text()).trim(), "true");
      largeMs.push(performance.now() - sent);
    }
    lastAnswered = performance.now();
  } finally {
    await writer.stop();
    for (const p of probes) await p.stop();
  }

  for (const [i, p] of probes.entries()) {
    assert.deepEqual(p.failures, [], `follower ${i + 1}'s status/leader answers`);
    assert.ok(p.answered > 0, `follower ${i + 1} answered status/leader`);
  }
  assert.deepEqual(writer.failures, [], "small writes");
  const during = writer.ackedAt.filter((at) => at > firstSent && at < lastAnswered).length;
  assert.ok(during > 0, `no small write was acknowledged while the ${LARGE_REQUESTS} large registrations were in progress`);

  // Stored everywhere, and the leadership never moved.
  for (const [i, s] of running.entries()) {
    await eventually(
      `server ${i + 1} holds every large registration`,
      async () => {
        for (let n = 0; n < LARGE_REQUESTS; n++) {
          const checks = await getJson<unknown[]>(`${s.base}/v1/health/node/cap-node-${n}?stale`);
          if (checks.length === 0) return false;
        }
        return true;
      },
      15_000,
    );
  }
  for (const s of running) assert.equal(await getJson<string>(`${s.base}/v1/status/leader`), leader, "the leadership did not move");

  console.log(
    `large registrations (${(bodies[0].length / 1024).toFixed(0)} KiB): ${largeMs.map((ms) => Math.round(ms)).join(", ")} ms; ` +
      `followers' worst status/leader: ${probes.map((p) => Math.round(p.worstMs)).join(", ")} ms over ${probes.map((p) => p.answered).join(", ")} answers; ` +
      `small writes: ${during} acknowledged meanwhile, worst ${Math.round(writer.worstMs)} ms`,
  );
});
