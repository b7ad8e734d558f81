import { encode } from "dns-packet";
import { DnsRequestHandler } from "../src/dns/dns-server.ts";
import { dnsSettings } from "../src/dns/dns-settings.ts";
import { StateMachine } from "../src/fsm/apply.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { systemRng } from "../src/runtime/rng.ts";
import { StateStore } from "../src/state/store.ts";

// In-process DNS handler throughput, no sockets: isolates the agent's CPU cost per query from
// the kernel and the load generator, and is what `node --cpu-prof` should be pointed at:
//
//   node --cpu-prof --import tsx bench/dns-micro.ts

const INSTANCES = 20;
const WARMUP_QUERIES = 20_000;
const MEASURED_QUERIES = 200_000;

function populatedState(): StateStore {
  const state = new StateStore();
  const fsm = new StateMachine(state);
  for (let i = 1; i <= INSTANCES; i++) {
    const node = `web-node-${i}`;
    const check = (id: string, serviceId: string) => ({
      Node: node, CheckID: id, Name: id, Status: "passing" as const, Notes: "", Output: "", ServiceID: serviceId,
      ServiceName: serviceId ? "web" : "", ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {},
    });
    const result = fsm.apply(i, {
      Type: "catalog-register",
      Node: { ID: "", Node: node, Address: `10.0.0.${i}`, Datacenter: "dc1", TaggedAddresses: null, Meta: { "consul-network-segment": "" } },
      SkipNodeUpdate: false,
      Service: { ID: `web-${i}`, Service: "web", Tags: [], Address: "", Meta: null, Port: 8080, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {} },
      Checks: [check("serfHealth", ""), check(`service:web-${i}`, `web-${i}`)],
    });
    if (!result.ok) throw new Error(result.error);
  }
  return state;
}

const handler = new DnsRequestHandler({ state: populatedState(), settings: dnsSettings(), logger: silentLogger, rng: systemRng });
for (const type of ["A", "SRV"] as const) {
  const query = encode({ type: "query", id: 7, flags: 1 << 8, questions: [{ name: "web.service.consul", type, class: "IN" }] });
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) if (!Buffer.isBuffer(handler.handle(query, "udp"))) throw new Error("expected a synchronous reply");
  };
  run(WARMUP_QUERIES);
  const started = performance.now();
  run(MEASURED_QUERIES);
  const elapsedMs = performance.now() - started;
  console.log(`${type}: ${Math.round(MEASURED_QUERIES / (elapsedMs / 1000)).toLocaleString("en-US")} queries/s, ${((elapsedMs * 1000) / MEASURED_QUERIES).toFixed(2)} µs each`);
}
