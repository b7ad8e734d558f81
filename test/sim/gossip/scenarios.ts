import { DEFAULT_LAN_CONFIG, gossipConfig } from "../../../src/gossip/config.ts";
import type { GossipConfig } from "../../../src/gossip/config.ts";
import { MemberStatus } from "../../../src/gossip/member-state.ts";
import { retransmitLimit, suspicionTimeoutMs } from "../../../src/gossip/scaling.ts";
import { GossipSimulator, memberName } from "./simulator.ts";
import { estimatedRtt } from "../../../src/gossip/vivaldi.ts";
import { seededRng } from "../../../src/runtime/rng.ts";
import type { NetworkConditions } from "./simulator.ts";

// Seeded scenarios for the gossip core. Each returns measurements and the list of broken
// targets (empty = pass). Targets (issue 7): a crashed member is declared dead everywhere
// within the SWIM bound for the configured intervals; no healthy member is ever declared dead
// at 10 % packet loss; per-member traffic does not grow with the cluster size.

export interface ScenarioResult {
  readonly name: string;
  readonly failures: string[];
  readonly metrics: Record<string, number>;
}

const LAN: NetworkConditions = { baseDelayMs: 1, jitterMs: 4, lossRate: 0 };

/**
 * Upper bound on crash → dead everywhere for n members: the crashed member is probed by
 * someone within 5 probe intervals (each of n−1 members probes one member a second, so the
 * chance of no probe in 5 s is e^-5), the probe takes one more interval, the suspicion runs at
 * most its Lifeguard maximum (no confirmation at all), and the dead broadcast spreads in
 * retransmit-limit gossip rounds.
 */
export function swimDetectionBoundMs(config: GossipConfig, n: number): number {
  const minMs = suspicionTimeoutMs(config.suspicionMult, n, config.probeIntervalMs);
  const spreadMs = retransmitLimit(config.retransmitMult, n) * config.gossipIntervalMs;
  return 6 * config.probeIntervalMs + config.suspicionMaxTimeoutMult * minMs + spreadMs;
}

function everyoneSees(sim: GossipSimulator, subject: number, ok: (s: MemberStatus | undefined) => boolean): boolean {
  for (const m of sim.members) {
    if (!m.up || m.index === subject || m.swim.isLeaving) continue;
    if (!ok(sim.status(m.index, subject))) return false;
  }
  return true;
}

interface TrafficMark {
  readonly udp: number[];
  readonly tcp: number[];
  readonly atMs: number;
}

function markTraffic(sim: GossipSimulator): TrafficMark {
  return { udp: sim.members.map((m) => m.bytesSent), tcp: sim.members.map((m) => m.streamBytesSent), atMs: sim.nowMs };
}

/** Mean bytes per second sent by each member still up, UDP and TCP separately. */
function trafficSince(sim: GossipSimulator, mark: TrafficMark): { udp: number; tcp: number } {
  let udp = 0;
  let tcp = 0;
  let counted = 0;
  for (const m of sim.members) {
    if (!m.up) continue;
    udp += m.bytesSent - mark.udp[m.index];
    tcp += m.streamBytesSent - mark.tcp[m.index];
    counted++;
  }
  const seconds = Math.max(1, sim.nowMs - mark.atMs) / 1000;
  return { udp: Math.round(udp / Math.max(1, counted) / seconds), tcp: Math.round(tcp / Math.max(1, counted) / seconds) };
}

function falseDeathCounter(sim: GossipSimulator, healthy: (i: number) => boolean): { count: () => number; first: () => string } {
  let count = 0;
  let first = "";
  const index = new Map(sim.members.map((m) => [m.name, m.index]));
  sim.observe((observer, ev, simMs) => {
    if (ev.type !== "dead") return;
    const subject = index.get(ev.member.name);
    if (subject === undefined || !sim.members[subject].up || !healthy(subject)) return;
    count++;
    if (!first) first = `${memberName(observer)} declared healthy ${ev.member.name} dead at ${simMs} ms`;
  });
  return { count: () => count, first: () => first };
}

/** Crash detection, then a restart, a graceful leave and a force-leave, in a converged cluster. */
export function crashScenario(seed: number, n: number): ScenarioResult {
  const config = DEFAULT_LAN_CONFIG;
  const sim = new GossipSimulator({ seed, members: n, config, network: LAN, joiners: 0 });
  const failures: string[] = [];
  const metrics: Record<string, number> = {};
  const crashed = new Set<number>();
  const falseDeaths = falseDeathCounter(sim, (i) => !crashed.has(i));

  sim.runUntil(5_000);
  const steady = markTraffic(sim);
  sim.runUntil(15_000);
  const steadyTraffic = trafficSince(sim, steady);
  metrics.steadyUdpBytesPerMemberPerSec = steadyTraffic.udp;
  metrics.steadyTcpBytesPerMemberPerSec = steadyTraffic.tcp;

  const victims: number[] = [];
  while (victims.length < 3) {
    const v = Math.floor(sim.rng.float() * n);
    if (!victims.includes(v)) victims.push(v);
  }
  const crashAt = sim.nowMs;
  for (const v of victims) {
    sim.crash(v);
    crashed.add(v);
  }
  const bound = swimDetectionBoundMs(config, n);
  metrics.detectionBoundMs = bound;
  const deadAt = new Map<number, number>();
  const isDead = (s: MemberStatus | undefined): boolean => s === MemberStatus.dead || s === undefined;
  const churn = markTraffic(sim);
  sim.runUntil(crashAt + bound * 1.5, () => {
    for (const v of victims) if (!deadAt.has(v) && everyoneSees(sim, v, isDead)) deadAt.set(v, sim.nowMs - crashAt);
    return deadAt.size === victims.length;
  });
  metrics.detectionUdpBytesPerMemberPerSec = trafficSince(sim, churn).udp;
  const times = [...deadAt.values()];
  metrics.crashDetectedEverywhereMaxMs = times.length ? Math.max(...times) : -1;
  metrics.crashDetectedEverywhereMinMs = times.length ? Math.min(...times) : -1;
  if (deadAt.size < victims.length) failures.push(`only ${deadAt.size}/${victims.length} crashed members were declared dead everywhere within 1.5× the bound`);
  else if (metrics.crashDetectedEverywhereMaxMs > bound) failures.push(`detection took ${metrics.crashDetectedEverywhereMaxMs} ms, above the SWIM bound ${bound} ms`);

  // Restart one victim with empty state: it must refute its death and be alive everywhere.
  const reborn = victims[0];
  const seedMember = (reborn + 1) % n;
  const restartAt = sim.nowMs;
  crashed.delete(reborn);
  sim.restart(reborn, seedMember);
  sim.runUntil(restartAt + 60_000, () => everyoneSees(sim, reborn, (s) => s === MemberStatus.alive));
  metrics.rejoinConvergedMs = sim.nowMs - restartAt;
  if (!everyoneSees(sim, reborn, (s) => s === MemberStatus.alive)) failures.push("restarted member not alive everywhere within 60 s");

  // Graceful leave is seen as `left`, never as `dead`.
  let leaver = Math.floor(sim.rng.float() * n);
  while (crashed.has(leaver) || leaver === reborn) leaver = (leaver + 1) % n;
  const leaveAt = sim.nowMs;
  sim.leave(leaver);
  sim.runUntil(leaveAt + 30_000, () => everyoneSees(sim, leaver, (s) => s === MemberStatus.left));
  metrics.leaveConvergedMs = sim.nowMs - leaveAt;
  if (!everyoneSees(sim, leaver, (s) => s === MemberStatus.left)) failures.push("graceful leave not seen as left everywhere within 30 s");
  crashed.add(leaver);

  // force-leave of a victim that stayed down: one member's leave intent turns it left everywhere.
  const forced = victims[1];
  let issuer = Math.floor(sim.rng.float() * n);
  while (crashed.has(issuer)) issuer = (issuer + 1) % n;
  const forceAt = sim.nowMs;
  const isLeftOrGone = (s: MemberStatus | undefined): boolean => s === MemberStatus.left || s === undefined;
  if (!sim.forceLeave(issuer, forced, false)) failures.push(`${memberName(issuer)} did not know the crashed ${memberName(forced)}`);
  sim.runUntil(forceAt + 30_000, () => everyoneSees(sim, forced, isLeftOrGone));
  metrics.forceLeaveConvergedMs = sim.nowMs - forceAt;
  if (!everyoneSees(sim, forced, isLeftOrGone)) failures.push("force-leave of a failed member not seen as left everywhere within 30 s");

  metrics.falseDeaths = falseDeaths.count();
  if (falseDeaths.count() > 0) failures.push(`false deaths: ${falseDeaths.count()} (${falseDeaths.first()})`);
  return { name: `crash n=${n}`, failures, metrics };
}

/** 10 % loss: no healthy member may die; a join and a user event must reach everyone. */
export function lossScenario(seed: number, n: number, options: { lossRate: number; durationMs: number; tcpFallbackProbe: boolean }): ScenarioResult {
  const { lossRate, durationMs } = options;
  const config = gossipConfig({ tcpFallbackProbe: options.tcpFallbackProbe });
  const sim = new GossipSimulator({ seed, members: n + 1, config, network: { ...LAN, lossRate }, joiners: 1 });
  const failures: string[] = [];
  const metrics: Record<string, number> = {};
  const falseDeaths = falseDeathCounter(sim, () => true);
  let suspicions = 0;
  sim.observe((_o, ev) => {
    if (ev.type === "suspect") suspicions++;
  });

  sim.runUntil(5_000);
  const joiner = n;
  const joinAt = sim.nowMs;
  sim.join(joiner, 0);
  sim.runUntil(joinAt + 60_000, () => everyoneSees(sim, joiner, (s) => s === MemberStatus.alive));
  metrics.joinConvergedMs = sim.nowMs - joinAt;
  if (!everyoneSees(sim, joiner, (s) => s === MemberStatus.alive)) failures.push("joined member not known alive everywhere within 60 s");

  const delivered = new Set<number>();
  sim.observe((observer, ev) => {
    if (ev.type === "user" && ev.name === "deploy") delivered.add(observer);
  });
  const eventAt = sim.nowMs;
  sim.userEvent(Math.floor(sim.rng.float() * n), "deploy", new TextEncoder().encode(`seed-${seed}`));
  sim.runUntil(eventAt + 30_000, () => delivered.size === n + 1);
  metrics.eventConvergedMs = sim.nowMs - eventAt;
  if (delivered.size !== n + 1) failures.push(`user event reached ${delivered.size}/${n + 1} members within 30 s`);

  const lossMark = markTraffic(sim);
  sim.runUntil(Math.max(sim.nowMs + 10_000, durationMs));
  metrics.lossUdpBytesPerMemberPerSec = trafficSince(sim, lossMark).udp;
  metrics.suspicionsRaised = suspicions;
  metrics.falseDeaths = falseDeaths.count();
  metrics.falsePositiveRate = falseDeaths.count() / (n + 1);
  if (falseDeaths.count() > 0) failures.push(`false deaths at ${lossRate * 100} % loss: ${falseDeaths.count()} (${falseDeaths.first()})`);
  const transport = options.tcpFallbackProbe ? "udp+tcp" : "udp-only";
  return { name: `loss ${lossRate * 100}% ${transport} n=${n}`, failures, metrics };
}

/** CPU-starved members answer late; Lifeguard must keep healthy members from being blamed. */
export function slowMembersScenario(seed: number, n: number, slow: number): ScenarioResult {
  const sim = new GossipSimulator({ seed, members: n, config: DEFAULT_LAN_CONFIG, network: LAN, joiners: 0 });
  const slowSet = new Set<number>();
  while (slowSet.size < slow) slowSet.add(Math.floor(sim.rng.float() * n));
  for (const i of slowSet) sim.setLag(i, 300 + Math.floor(sim.rng.float() * 700));
  const falseDeaths = falseDeathCounter(sim, (i) => !slowSet.has(i));
  let slowDeclaredDead = 0;
  const slowNames = new Set([...slowSet].map(memberName));
  sim.observe((_o, ev) => {
    if (ev.type === "dead" && slowNames.has(ev.member.name)) slowDeclaredDead++;
  });
  sim.runUntil(60_000);
  let maxHealth = 0;
  for (const i of slowSet) maxHealth = Math.max(maxHealth, sim.members[i].swim.healthScore);
  const failures: string[] = [];
  if (falseDeaths.count() > 0) failures.push(`healthy members declared dead next to slow ones: ${falseDeaths.first()}`);
  return {
    name: `slow members n=${n} slow=${slow}`,
    failures,
    metrics: { falseDeaths: falseDeaths.count(), slowDeclaredDeadEvents: slowDeclaredDead, slowMaxHealthScore: maxHealth },
  };
}

/** A partition splits the cluster; after healing, serf-style reconnects merge it back. */
export function partitionScenario(seed: number, n: number): ScenarioResult {
  const config = gossipConfig({ reconnectIntervalMs: 10_000 });
  const sim = new GossipSimulator({ seed, members: n, config, network: { ...LAN, lossRate: 0.01 }, joiners: 0 });
  const failures: string[] = [];
  const metrics: Record<string, number> = {};
  sim.runUntil(3_000);
  sim.partition((i) => (i < n / 2 ? 0 : 1));
  sim.runUntil(3_000 + swimDetectionBoundMs(config, n));
  if (sim.status(0, n - 1) !== MemberStatus.dead || sim.status(n - 1, 0) !== MemberStatus.dead || sim.status(0, 1) !== MemberStatus.alive) {
    failures.push("partition did not separate the two sides");
  }
  sim.heal();
  const healAt = sim.nowMs;
  const allAlive = (): boolean => {
    for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 20))) if (!everyoneSees(sim, i, (s) => s === MemberStatus.alive)) return false;
    return true;
  };
  sim.runUntil(healAt + 180_000, allAlive);
  metrics.healConvergedMs = sim.nowMs - healAt;
  if (!allAlive()) failures.push("cluster did not merge back within 180 s of healing");
  return { name: `partition n=${n}`, failures, metrics };
}

/** Steady-state traffic per member at two sizes: must not grow with n. */
export function scalingScenario(seed: number, small: number, large: number): ScenarioResult {
  const measure = (n: number): number => {
    const sim = new GossipSimulator({ seed, members: n, config: DEFAULT_LAN_CONFIG, network: LAN, joiners: 0 });
    sim.runUntil(5_000);
    const mark = markTraffic(sim);
    sim.runUntil(15_000);
    return trafficSince(sim, mark).udp;
  };
  const a = measure(small);
  const b = measure(large);
  const failures: string[] = [];
  const ratio = b / a;
  if (ratio > 1.5) failures.push(`per-member UDP traffic grew ${ratio.toFixed(2)}× from n=${small} to n=${large}`);
  return { name: `scaling n=${small}→${large}`, failures, metrics: { smallBytesPerMemberPerSec: Math.round(a), largeBytesPerMemberPerSec: Math.round(b), ratio: Number(ratio.toFixed(3)) } };
}

/**
 * Network coordinates (issue 18): members sit in a plane of three "regions" plus an access-link
 * delay each; one-way delay between two members is half their distance plus both access links.
 * After `durationMs` of probing, every pair's Vivaldi estimate must be within 2× of the true RTT
 * (the simulator's base delay and mean jitter included).
 */
export function coordinateScenario(seed: number, n: number, durationMs: number): ScenarioResult {
  const network: NetworkConditions = { baseDelayMs: 0.5, jitterMs: 1, lossRate: 0 };
  // Positions in ms of one-way delay; regions ~20 and ~60 ms apart.
  const place = seededPlacement(seed, n);
  const oneWay = (a: number, b: number): number => Math.hypot(place[a].x - place[b].x, place[a].y - place[b].y) + place[a].access + place[b].access;
  const sim = new GossipSimulator({ seed, members: n, config: DEFAULT_LAN_CONFIG, network: { ...network, pairDelayMs: oneWay }, joiners: 0, coordinates: true });
  sim.runUntil(durationMs);
  const failures: string[] = [];
  let worst = 1;
  let within = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    const ci = sim.members[i].coordinates?.coordinate;
    for (let j = i + 1; j < n; j++) {
      const cj = sim.members[j].coordinates?.coordinate;
      if (!ci || !cj) continue;
      const truthMs = 2 * (oneWay(i, j) + network.baseDelayMs + network.jitterMs / 2);
      const estimateMs = estimatedRtt(ci, cj) * 1000;
      const ratio = Math.max(estimateMs / truthMs, truthMs / estimateMs);
      worst = Math.max(worst, ratio);
      pairs++;
      if (ratio <= 2) within++;
    }
  }
  const metrics = { pairs, withinTwoX: within, worstRatio: worst };
  if (pairs === 0 || within < pairs) failures.push(`${pairs - within}/${pairs} pairs estimated outside 2× of the true RTT (worst ${worst.toFixed(2)}×)`);
  return { name: `coordinates n=${n}`, failures, metrics };
}

function seededPlacement(seed: number, n: number): { x: number; y: number; access: number }[] {
  const rng = seededRng(seed ^ 0x5eed);
  const regions = [
    { x: 0, y: 0 },
    { x: 20, y: 0 },
    { x: 10, y: 60 },
  ];
  return Array.from({ length: n }, (_, i) => {
    const r = regions[i % regions.length];
    return { x: r.x + (rng.float() - 0.5) * 4, y: r.y + (rng.float() - 0.5) * 4, access: 0.5 + rng.float() * 2 };
  });
}
