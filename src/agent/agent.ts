import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { Consensus } from "../server/consensus.ts";
import type { StateStore } from "../state/store.ts";
import { SERF_HEALTH_CHECK_ID } from "../model/catalog.ts";

/** What the agent role needs to know about itself. */
export interface AgentIdentity {
  nodeName: string;
  nodeId: string;
  datacenter: string;
  server: boolean;
  advertiseAddr: string;
  /** Server RPC port (8300), registered as the `consul` service port. */
  serverPort: number;
  serfLanPort: number;
  nodeMeta: Record<string, string>;
  version: string;
}

export interface AgentDeps {
  identity: AgentIdentity;
  consensus: Consensus;
  state: StateStore;
  clock: Clock;
  rng: Rng;
  logger: Logger;
}

export interface AgentLifecycle {
  leave(): Promise<void>;
  reload(): Promise<void>;
}

/**
 * The agent role: this node's own registration, its local services and checks, and their sync
 * into the catalog. Writes go through `consensus` like every other write.
 */
export class Agent {
  readonly identity: AgentIdentity;
  readonly consensus: Consensus;
  readonly state: StateStore;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly startedAtMs: number;
  /** Set by the wiring: what PUT /v1/agent/leave and /v1/agent/reload trigger. */
  lifecycle: AgentLifecycle = { leave: async () => {}, reload: async () => {} };

  constructor(deps: AgentDeps) {
    this.identity = deps.identity;
    this.consensus = deps.consensus;
    this.state = deps.state;
    this.clock = deps.clock;
    this.rng = deps.rng;
    this.logger = deps.logger.named("agent");
    this.startedAtMs = deps.clock.now();
  }

  /** Registers this node (and, on servers, the `consul` service) with a passing serfHealth. */
  async start(): Promise<void> {
    const id = this.identity;
    const { result } = await this.consensus.propose({
      Type: "catalog-register",
      Node: {
        ID: id.nodeId,
        Node: id.nodeName,
        Address: id.advertiseAddr,
        Datacenter: id.datacenter,
        TaggedAddresses: { lan: id.advertiseAddr, lan_ipv4: id.advertiseAddr, wan: id.advertiseAddr, wan_ipv4: id.advertiseAddr },
        Meta: { "consul-network-segment": "", "consul-version": id.version, ...id.nodeMeta },
      },
      SkipNodeUpdate: false,
      Service: id.server
        ? {
            ID: "consul",
            Service: "consul",
            Tags: [],
            Address: "",
            Meta: { raft_version: "3", serf_protocol_current: "2", serf_protocol_max: "5", serf_protocol_min: "1", version: id.version },
            Port: id.serverPort,
            Weights: { Passing: 1, Warning: 1 },
            EnableTagOverride: false,
            Proxy: { MeshGateway: {}, Expose: {} },
            Connect: {},
            PeerName: "",
          }
        : undefined,
      Checks: [
        {
          Node: id.nodeName,
          CheckID: SERF_HEALTH_CHECK_ID,
          Name: "Serf Health Status",
          Status: "passing",
          Notes: "",
          Output: "Agent alive and reachable",
          ServiceID: "",
          ServiceName: "",
          ServiceTags: [],
          Type: "",
          Interval: "",
          Timeout: "",
          ExposedPort: 0,
          Definition: {},
        },
      ],
    });
    if (!result.ok) throw new Error(`agent: failed to register node: ${result.error}`);
    this.logger.info("Synced node info");
  }

  async stop(): Promise<void> {}
}
