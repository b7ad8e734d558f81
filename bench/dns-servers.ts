import { createSocket } from "node:dgram";
import { encode } from "dns-packet";
import { startDnsServer } from "../src/dns/dns-server.ts";
import { dnsSettings } from "../src/dns/dns-settings.ts";
import { StateMachine } from "../src/fsm/apply.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { systemRng } from "../src/runtime/rng.ts";
import { StateStore } from "../src/state/store.ts";

// Child process for the DNS benchmark, one of two kinds:
//
//   node --import tsx bench/dns-servers.ts agent <port>   the agent's DNS server over a catalog
//                                                         holding a 20-instance `web` service
//   node --import tsx bench/dns-servers.ts bare <port>    the yardstick: node:dgram answering
//                                                         every datagram with one fixed reply
//
// Sends "ready" over IPC once listening.

export const BENCH_INSTANCES = 20;

const [kind, portText] = process.argv.slice(2);
const port = Number(portText);
if ((kind !== "agent" && kind !== "bare") || !Number.isInteger(port) || port <= 0) throw new Error("usage: dns-servers.ts agent|bare <port>");

function populatedState(): StateStore {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  for (let i = 1; i <= BENCH_INSTANCES; i++) {
    const node = `web-node-${i}`;
    const check = (id: string, serviceId: string) => ({
      Node: node, CheckID: id, Name: id, Status: "passing" as const, Notes: "", Output: "", ServiceID: serviceId,
      ServiceName: serviceId ? "web" : "", ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {},
    });
    const result = fsm.apply(i, {
      Type: "catalog-register",
      Node: { ID: "", Node: node, Address: `10.0.${i >> 8}.${i & 255}`, Datacenter: "dc1", TaggedAddresses: null, Meta: { "consul-network-segment": "" } },
      SkipNodeUpdate: false,
      Service: { ID: `web-${i}`, Service: "web", Tags: [], Address: "", Meta: null, Port: 8080, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} },
      Checks: [check("serfHealth", ""), check(`service:web-${i}`, `web-${i}`)],
    });
    if (!result.ok) throw new Error(result.error);
  }
  return state;
}

if (kind === "agent") {
  // One load generator is one source: lift the per-source rate bound (limits.dns_max_qps_per_client
  // = 0) so the benchmark measures the resolver, not the bound.
  await startDnsServer({ state: populatedState(), settings: dnsSettings({ maxQpsPerSource: 0 }), logger: silentLogger, rng: systemRng }, { host: "127.0.0.1", port });
} else {
  // A fixed three-answer A reply, the size of the agent's default UDP answer; only the ID changes.
  const fixed = encode({
    type: "response",
    id: 0,
    flags: 1 << 10,
    questions: [{ name: "web.service.consul", type: "A", class: "IN" }],
    answers: [1, 2, 3].map((i) => ({ type: "A" as const, class: "IN" as const, name: "web.service.consul", ttl: 0, data: `10.0.0.${i}` })),
  });
  const socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    const reply = Buffer.from(fixed);
    if (msg.length >= 2) msg.copy(reply, 0, 0, 2);
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", resolve));
}
process.send?.("ready");
process.once("SIGTERM", () => process.exit(0));
