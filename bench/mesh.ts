// Issue 16: the Connect data plane. Two `consulate connect proxy` sidecars (web's upstream →
// db's public listener → the db app) against the same path through two plain node:net relays
// (relay → relay → the same app), every process separate, rounds alternating so drift on the
// machine hits both alike, each side credited with its best round.
//   M1. 1 KiB request / 1 KiB answer on 64 connections: round trips per second.
//   M2. The same exchange on one connection: p99 latency the two sidecars add over the relays.
//   M3. 1,000 connections open at once through the pair, 3 exchanges each: errors, proxy RSS.
//   M4. New connections per second through the pair (TCP accept, a stream on a kept mTLS
//       connection between the sidecars, authorisation, dial of the app, one exchange, close);
//       the same through a sidecar without stream reuse (a TLS handshake per connection) and
//       through a bare node:tls pair are reported beside it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { nextMessage, spawnNode, type SpawnedProcess } from "./child-process.ts";
import { count, mb, ms, percent } from "./format.ts";
import { freePort } from "./free-port.ts";
import { megabytes, readCpuTicks, readRssBytes, waitUntilIdle } from "./proc-stats.ts";
import type { ResultRow } from "./report.ts";
import type { MeshJob, MeshOutcome } from "./mesh-load-worker.ts";

export const MESH_THROUGHPUT_TARGET_RATIO = 0.5;
export const MESH_ADDED_P99_TARGET_MS = 1;
export const MESH_CONNECT_TARGET_PER_SECOND = 1000;
const MESH_RSS_TARGET_MB = 200;
const CONNECTIONS = 64;
const HOLD_CONNECTIONS = 1000;
const ROUNDS = 3;
const ROUND_SECONDS = 3;
const LATENCY_SECONDS = 2;
const CONNECT_LOOPS = 32;
const CONNECT_SECONDS = 3;

const BIN = fileURLToPath(new URL("../bin/consulate.js", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./mesh-fixture.ts", import.meta.url));
const WORKER = fileURLToPath(new URL("./mesh-load-worker.ts", import.meta.url));

function log(message: string): void {
  process.stderr.write(`[bench:mesh] ${message}\n`);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function put(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}${path}`, { method: "PUT", body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

function isOutcome(m: unknown): m is { outcome: MeshOutcome } | { error: string } {
  return typeof m === "object" && m !== null && ("outcome" in m || "error" in m);
}

async function runJob(worker: SpawnedProcess, job: MeshJob, timeoutMs = 60_000): Promise<MeshOutcome> {
  const answer = nextMessage(worker, isOutcome, timeoutMs);
  worker.child.send(job);
  const m = await answer;
  if ("error" in m) throw new Error(`${job.kind} job failed: ${m.error}`);
  return m.outcome;
}

export async function runMeshBench(): Promise<ResultRow[]> {
  const procs: SpawnedProcess[] = [];
  let pki: string | undefined;
  try {
    const httpPort = await freePort();
    const base = `http://127.0.0.1:${httpPort}`;
    const agentArgs = ["agent", "-dev", `-http-port=${httpPort}`, "-dns-port=-1", `-serf-lan-port=${await freePort()}`, `-serf-wan-port=${await freePort()}`, `-server-port=${await freePort()}`, "-log-level=warn"];
    const agentProc = spawnNode(BIN, agentArgs, { label: "mesh-agent" });
    procs.push(agentProc);
    await until("the agent", async () => (await fetch(`${base}/v1/status/leader`)).status === 200);

    const appPort = await freePort();
    const echoProc = spawnNode(FIXTURE, ["echo", String(appPort)], { label: "mesh-echo", viaTsx: true, raiseFdLimit: true });
    procs.push(echoProc);
    const [dbSidecar, webSidecar, upstream, relayA, relayB] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    procs.push(spawnNode(FIXTURE, ["relay", String(relayB), String(appPort)], { label: "relay-b", viaTsx: true, raiseFdLimit: true }));
    procs.push(spawnNode(FIXTURE, ["relay", String(relayA), String(relayB)], { label: "relay-a", viaTsx: true, raiseFdLimit: true }));
    const sidecar = (port: number, upstreams: unknown[], streamReuse = false) => ({
      Port: port,
      Proxy: { Config: { bind_address: "127.0.0.1", consulate_stream_reuse: streamReuse }, Upstreams: upstreams },
      Checks: [{ Name: "Connect Sidecar Listening", TCP: `127.0.0.1:${port}`, Interval: "1s" }],
    });
    // db's sidecar advertises stream reuse (the fast path measured by M1–M4); dbplain is the
    // same app behind a sidecar that does not, so M4 also shows a TLS handshake per connection.
    const [dbPlainSidecar, upstreamPlain] = [await freePort(), await freePort()];
    await put(base, "/v1/agent/service/register", { Name: "db", Port: appPort, Connect: { SidecarService: sidecar(dbSidecar, [], true) } });
    await put(base, "/v1/agent/service/register", { Name: "dbplain", Port: appPort, Connect: { SidecarService: sidecar(dbPlainSidecar, []) } });
    await put(base, "/v1/agent/service/register", {
      Name: "web",
      Port: await freePort(),
      Connect: {
        SidecarService: sidecar(webSidecar, [
          { DestinationName: "db", LocalBindPort: upstream },
          { DestinationName: "dbplain", LocalBindPort: upstreamPlain },
        ]),
      },
    });
    await put(base, "/v1/connect/intentions/exact?source=web&destination=db", { Action: "allow" });
    await put(base, "/v1/connect/intentions/exact?source=web&destination=dbplain", { Action: "allow" });
    const dbProxy = spawnNode(BIN, ["connect", "proxy", "-sidecar-for=db", `-http-addr=${base}`, "-log-level=warn"], { label: "proxy-db", raiseFdLimit: true });
    const dbPlainProxy = spawnNode(BIN, ["connect", "proxy", "-sidecar-for=dbplain", `-http-addr=${base}`, "-log-level=warn"], { label: "proxy-dbplain", raiseFdLimit: true });
    const webProxy = spawnNode(BIN, ["connect", "proxy", "-sidecar-for=web", `-http-addr=${base}`, "-log-level=warn"], { label: "proxy-web", raiseFdLimit: true });
    procs.push(dbProxy, dbPlainProxy, webProxy);
    for (const svc of ["db", "dbplain"]) await until(`${svc}'s sidecar passing`, async () => ((await (await fetch(`${base}/v1/health/connect/${svc}?passing=1`)).json()) as unknown[]).length === 1);

    // The bare mTLS pair: the sidecars' own leaves and roots, node:tls and a splice, nothing else.
    pki = mkdtempSync(join(tmpdir(), "mesh-bench-"));
    const leafOf = async (svc: string): Promise<{ CertPEM: string; PrivateKeyPEM: string }> => (await (await fetch(`${base}/v1/agent/connect/ca/leaf/${svc}`)).json()) as { CertPEM: string; PrivateKeyPEM: string };
    for (const svc of ["db", "web"]) {
      const leaf = await leafOf(svc);
      writeFileSync(join(pki, `${svc}.pem`), leaf.CertPEM);
      writeFileSync(join(pki, `${svc}.key`), leaf.PrivateKeyPEM);
    }
    const roots = (await (await fetch(`${base}/v1/agent/connect/ca/roots`)).json()) as { Roots: { RootCert: string }[] };
    writeFileSync(join(pki, "roots.pem"), roots.Roots.map((r) => r.RootCert).join("\n"));
    const [tlsIn, tlsOut] = [await freePort(), await freePort()];
    const tlsInProc = spawnNode(FIXTURE, ["tls-in", String(tlsIn), String(appPort), pki], { label: "tls-in", viaTsx: true, raiseFdLimit: true });
    const tlsOutProc = spawnNode(FIXTURE, ["tls-out", String(tlsOut), String(tlsIn), pki], { label: "tls-out", viaTsx: true, raiseFdLimit: true });
    procs.push(tlsInProc, tlsOutProc);

    const worker = spawnNode(WORKER, [], { label: "mesh-load", viaTsx: true, ipc: true, raiseFdLimit: true, nodeFlags: ["--max-old-space-size=1024"] });
    procs.push(worker);
    await nextMessage(worker, (m): m is { ready: true } => typeof m === "object" && m !== null && "ready" in m, 20_000);
    await until("a round trip through the sidecars", async () => (await runJob(worker, { kind: "pingpong", port: upstream, connections: 1, seconds: 0.2, size: 16 })).completed > 0);
    await until("a round trip through the plain sidecars", async () => (await runJob(worker, { kind: "pingpong", port: upstreamPlain, connections: 1, seconds: 0.2, size: 16 })).completed > 0);
    await until("a round trip through the bare mTLS pair", async () => (await runJob(worker, { kind: "pingpong", port: tlsOut, connections: 1, seconds: 0.2, size: 16 })).completed > 0);

    // Warm-up (JIT, TLS session set-up) for both paths.
    await runJob(worker, { kind: "pingpong", port: upstream, connections: CONNECTIONS, seconds: 1, size: 1024 });
    await runJob(worker, { kind: "pingpong", port: relayA, connections: CONNECTIONS, seconds: 1, size: 1024 });

    log(`M1: 1 KiB ping-pong, c=${CONNECTIONS}, ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s`);
    const meshRounds: MeshOutcome[] = [];
    const relayRounds: MeshOutcome[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      meshRounds.push(await runJob(worker, { kind: "pingpong", port: upstream, connections: CONNECTIONS, seconds: ROUND_SECONDS, size: 1024 }));
      relayRounds.push(await runJob(worker, { kind: "pingpong", port: relayA, connections: CONNECTIONS, seconds: ROUND_SECONDS, size: 1024 }));
    }
    const best = (xs: MeshOutcome[]): MeshOutcome => xs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    const mesh1 = best(meshRounds);
    const relay1 = best(relayRounds);
    const ratio1 = mesh1.perSecond / relay1.perSecond;

    log("M2: 1 KiB ping-pong on one connection (latency)");
    const meshLat: MeshOutcome[] = [];
    const relayLat: MeshOutcome[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      meshLat.push(await runJob(worker, { kind: "pingpong", port: upstream, connections: 1, seconds: LATENCY_SECONDS, size: 1024 }));
      relayLat.push(await runJob(worker, { kind: "pingpong", port: relayA, connections: 1, seconds: LATENCY_SECONDS, size: 1024 }));
    }
    const lowestP99 = (xs: MeshOutcome[]): MeshOutcome => xs.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
    const mesh2 = lowestP99(meshLat);
    const relay2 = lowestP99(relayLat);
    const addedP99 = mesh2.p99Ms - relay2.p99Ms;

    // Set-up is measured before the 1,000-connection hold, whose teardown would be billed to it.
    log(`M4: new connections, ${CONNECT_LOOPS} loops for ${CONNECT_SECONDS} s`);
    // CPU per connection as well: on a shared machine the rate says how much CPU we were given,
    // the CPU time says what a connection costs.
    const cpuOf = (ps: SpawnedProcess[]): number => ps.reduce((sum, p) => sum + readCpuTicks(p.pid), 0);
    const relayProcs = procs.filter((p) => p.child.spawnargs.includes("relay"));
    // Each process on the path separately: where a connection's CPU goes.
    const path = { client: worker, web: webProxy, db: dbProxy, agent: agentProc, app: echoProc };
    const before = Object.fromEntries(Object.entries(path).map(([k, p]) => [k, readCpuTicks(p.pid)]));
    let ticks = cpuOf([dbProxy, webProxy]);
    const meshConnect = await runJob(worker, { kind: "connect", port: upstream, connections: CONNECT_LOOPS, seconds: CONNECT_SECONDS });
    const meshCpuMsPerConn = ((cpuOf([dbProxy, webProxy]) - ticks) * 10) / Math.max(1, meshConnect.completed);
    const perProcessUs = Object.entries(path)
      .map(([k, p]) => `${k} ${Math.round(((readCpuTicks(p.pid) - before[k]) * 10_000) / Math.max(1, meshConnect.completed))} µs`)
      .join(", ");
    ticks = cpuOf([dbPlainProxy, webProxy]);
    const plainConnect = await runJob(worker, { kind: "connect", port: upstreamPlain, connections: CONNECT_LOOPS, seconds: CONNECT_SECONDS });
    const plainCpuMsPerConn = ((cpuOf([dbPlainProxy, webProxy]) - ticks) * 10) / Math.max(1, plainConnect.completed);
    ticks = cpuOf(relayProcs);
    const relayConnect = await runJob(worker, { kind: "connect", port: relayA, connections: CONNECT_LOOPS, seconds: CONNECT_SECONDS });
    const relayCpuMsPerConn = ((cpuOf(relayProcs) - ticks) * 10) / Math.max(1, relayConnect.completed);
    ticks = cpuOf([tlsInProc, tlsOutProc]);
    const bareTlsConnect = await runJob(worker, { kind: "connect", port: tlsOut, connections: CONNECT_LOOPS, seconds: CONNECT_SECONDS });
    const bareTlsCpuMsPerConn = ((cpuOf([tlsInProc, tlsOutProc]) - ticks) * 10) / Math.max(1, bareTlsConnect.completed);

    log(`M3: ${HOLD_CONNECTIONS} connections held open through the sidecars`);
    await waitUntilIdle(dbProxy.pid, 300, 10_000);
    const rssBefore = readRssBytes(dbProxy.pid) + readRssBytes(webProxy.pid);
    const holdAnswer = nextMessage(worker, (m): m is { holding: number } => typeof m === "object" && m !== null && "holding" in m, 120_000);
    const holdOutcome = nextMessage(worker, isOutcome, 180_000);
    // Should the hold fail first, this one's rejection must not mask that error.
    holdOutcome.catch(() => undefined);
    worker.child.send({ kind: "hold", port: upstream, connections: HOLD_CONNECTIONS, rounds: 3 } satisfies MeshJob);
    const holding = (await holdAnswer).holding;
    const rssDb = readRssBytes(dbProxy.pid);
    const rssWeb = readRssBytes(webProxy.pid);
    worker.child.send({ release: true });
    const held = await holdOutcome;
    if ("error" in held) throw new Error(`hold job failed: ${held.error}`);
    const hold = held.outcome;
    const rssPeak = Math.max(rssDb, rssWeb);

    const rate = (n: number): string => `${count(Math.round(n))}/s`;
    return [
      {
        name: `M1. 1 KiB request/answer through two sidecars, c=${CONNECTIONS}`,
        agent: rate(mesh1.perSecond),
        bare: `${rate(relay1.perSecond)} (2 node:net relays)`,
        ratio: percent(ratio1),
        target: `≥ ${percent(MESH_THROUGHPUT_TARGET_RATIO)}`,
        pass: ratio1 >= MESH_THROUGHPUT_TARGET_RATIO && mesh1.errors === 0,
        detail: `rounds: sidecars ${meshRounds.map((r) => rate(r.perSecond)).join(", ")}; relays ${relayRounds.map((r) => rate(r.perSecond)).join(", ")}; p99 ${mesh1.p99Ms.toFixed(2)} ms vs ${relay1.p99Ms.toFixed(2)} ms; errors ${mesh1.errors}/${relay1.errors}`,
      },
      {
        name: "M2. added p99 latency, 1 KiB request/answer on one connection",
        agent: `${mesh2.p99Ms.toFixed(3)} ms`,
        bare: `${relay2.p99Ms.toFixed(3)} ms`,
        ratio: `+${addedP99.toFixed(3)} ms`,
        target: `≤ +${MESH_ADDED_P99_TARGET_MS} ms`,
        pass: addedP99 <= MESH_ADDED_P99_TARGET_MS,
        detail: `p50 ${mesh2.p50Ms.toFixed(3)} ms vs ${relay2.p50Ms.toFixed(3)} ms; lowest p99 of ${ROUNDS} rounds each (sidecars ${meshLat.map((r) => r.p99Ms.toFixed(3)).join(", ")}; relays ${relayLat.map((r) => r.p99Ms.toFixed(3)).join(", ")})`,
      },
      {
        name: `M3. ${count(HOLD_CONNECTIONS)} concurrent connections through the pair`,
        agent: `${count(hold.errors)} errors`,
        bare: "—",
        ratio: mb(rssPeak),
        target: `0 errors, RSS ≤ ${MESH_RSS_TARGET_MB} MB per proxy`,
        pass: hold.errors === 0 && holding === HOLD_CONNECTIONS && megabytes(rssPeak) <= MESH_RSS_TARGET_MB,
        detail: `${count(holding)} held open, ${count(hold.completed)} exchanges of 1 KiB; proxy RSS db ${mb(rssDb)}, web ${mb(rssWeb)} while held (the two together ${mb(rssBefore)} before)`,
      },
      {
        name: "M4. connection set-up through the pair (stream reuse, authorise + dial per connection)",
        agent: rate(meshConnect.perSecond),
        bare: `${rate(relayConnect.perSecond)} (relays)`,
        ratio: percent(meshConnect.perSecond / relayConnect.perSecond),
        target: `≥ ${count(MESH_CONNECT_TARGET_PER_SECOND)}/s`,
        pass: meshConnect.perSecond >= MESH_CONNECT_TARGET_PER_SECOND && meshConnect.errors === 0,
        detail: `${CONNECT_LOOPS} loops; set-up + one exchange p50 ${ms(meshConnect.p50Ms)}, p99 ${ms(meshConnect.p99Ms)}; CPU per connection, both proxies together ${meshCpuMsPerConn.toFixed(2)} ms (per process: ${perProcessUs}; both relays ${relayCpuMsPerConn.toFixed(2)} ms); errors ${meshConnect.errors} (relays ${relayConnect.errors}); the same through a sidecar without stream reuse (an mTLS handshake per connection, resumed) ${rate(plainConnect.perSecond)}, ${plainCpuMsPerConn.toFixed(2)} ms CPU per connection for both proxies, errors ${plainConnect.errors}; bare node:tls mTLS pair with the same leaves (session resumption, no authorise, no discovery) ${rate(bareTlsConnect.perSecond)}, ${bareTlsCpuMsPerConn.toFixed(2)} ms CPU per connection, errors ${bareTlsConnect.errors}`,
      },
    ];
  } finally {
    await Promise.all(procs.reverse().map((p) => p.stop()));
    if (pki) rmSync(pki, { recursive: true, force: true });
  }
}
