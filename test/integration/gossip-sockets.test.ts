import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { gossipConfig } from "../../src/gossip/config.ts";
import type { GossipConfig } from "../../src/gossip/config.ts";
import { MemberStatus } from "../../src/gossip/member-state.ts";
import { Keyring, keygen } from "../../src/transport/gossip-crypto.ts";
import { GossipRunner } from "../../src/transport/gossip-runner.ts";

// 20 real gossip members on 127.0.0.1..127.0.0.20 (Linux loopback answers the whole /8), with
// encryption on. Member 20 runs in a child process so it can be SIGKILLed.

const MEMBERS = 20;
// Faster than the LAN profile, but with room for a busy 2-core machine: 19 members share this
// process's event loop, so an ack can wait behind a few hundred ms of other work. The probe
// timeout tolerates that lag, suspicion lasts seconds (long enough to refute a false one), and
// a push-pull (join) may take seconds while 18 members join the seed at once.
const fastOverrides: Partial<GossipConfig> = {
  probeIntervalMs: 500,
  probeTimeoutMs: 400,
  gossipIntervalMs: 50,
  suspicionMult: 3,
  pushPullIntervalMs: 2_000,
  tcpTimeoutMs: 5_000,
  gossipToTheDeadMs: 5_000,
  leaveBroadcastTimeoutMs: 2_000,
};
const config = gossipConfig(fastOverrides);
const runnerModule = fileURLToPath(new URL("../../src/transport/gossip-runner.ts", import.meta.url));
const configModule = fileURLToPath(new URL("../../src/gossip/config.ts", import.meta.url));
const cryptoModule = fileURLToPath(new URL("../../src/transport/gossip-crypto.ts", import.meta.url));

const CHILD_SOURCE = `
import { GossipRunner } from ${JSON.stringify(runnerModule)};
import { gossipConfig } from ${JSON.stringify(configModule)};
import { Keyring } from ${JSON.stringify(cryptoModule)};
const runner = await GossipRunner.start({
  name: process.env.GOSSIP_NAME, bindHost: process.env.GOSSIP_HOST, port: 0,
  config: gossipConfig(JSON.parse(process.env.GOSSIP_CONFIG)),
  keyring: new Keyring([process.env.GOSSIP_KEY]), tags: { role: "node", dc: "dc1" },
});
await runner.join([process.env.GOSSIP_SEED]);
process.stdout.write("READY " + runner.addr + "\\n");
`;

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function startChild(name: string, host: string, seed: string, key: string, children: ChildProcess[]): Promise<{ child: ChildProcess; addr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD_SOURCE], {
    env: { ...process.env, GOSSIP_NAME: name, GOSSIP_HOST: host, GOSSIP_SEED: seed, GOSSIP_KEY: key, GOSSIP_CONFIG: JSON.stringify(fastOverrides) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) resolve({ child, addr: match[1] });
    });
    child.once("exit", (code) => reject(new Error(`gossip child exited early with ${code}`)));
  });
}

test("gossip sockets - 20 members converge, detect a kill -9 as dead and a graceful leave as left", { timeout: 120_000 }, async (t) => {
  const key = keygen();
  const runners: GossipRunner[] = [];
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(runners.map((r) => r.shutdown()));
  });

  for (let i = 1; i < MEMBERS; i++) {
    runners.push(await GossipRunner.start({ name: `node-${i}`, bindHost: `127.0.0.${i}`, port: 0, config, keyring: new Keyring([key]), tags: { role: "node", dc: "dc1" } }));
  }
  const seed = runners[0].addr;
  const joined = await Promise.all(runners.slice(1).map((r) => r.join([seed])));
  assert.ok(joined.every((n) => n === 1), "every in-process member joined through the seed");
  const { child } = await startChild(`node-${MEMBERS}`, `127.0.0.${MEMBERS}`, seed, key, children);

  const aliveCount = (r: GossipRunner): number => r.members().filter((m) => m.status === MemberStatus.alive).length;
  await waitFor("all 20 members alive in every view", () => runners.every((r) => aliveCount(r) === MEMBERS), 30_000);
  assert.equal(runners[3].swim.member(`node-${MEMBERS}`)?.tags.dc, "dc1");

  const killedAt = Date.now();
  child.kill("SIGKILL");
  await waitFor("the killed member dead everywhere", () => runners.every((r) => r.swim.member(`node-${MEMBERS}`)?.status === MemberStatus.dead), 30_000);
  assert.ok(Date.now() - killedAt < 30_000);

  const leaver = runners.splice(5, 1)[0];
  await leaver.leave();
  await leaver.shutdown();
  await waitFor("the leaver left everywhere", () => runners.every((r) => r.swim.member(leaver.swim.name)?.status === MemberStatus.left), 20_000);
  // Nobody healthy was ever declared dead along the way.
  for (const r of runners) {
    const dead = r.members().filter((m) => m.status === MemberStatus.dead).map((m) => m.name);
    assert.deepEqual(dead, [`node-${MEMBERS}`]);
  }
});
