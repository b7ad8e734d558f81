import type { ConsulError } from "../errors/catalog.ts";
import type { Handler, HttpSettings } from "./context.ts";
import { agentOpsHandlers as a } from "./handlers/agent-ops.ts";
import { agentServiceHandlers as svc } from "./handlers/agent-services.ts";
import { agentMonitorHandlers as mon } from "./handlers/agent-monitor.ts";
import { agentMetricsStreamHandlers as ms } from "./handlers/agent-metrics-stream.ts";
import { catalogHandlers as c } from "./handlers/catalog.ts";
import { healthHandlers as h } from "./handlers/health.ts";
import { kvHandlers as kv } from "./handlers/kv.ts";
import { statusHandlers as s } from "./handlers/status.ts";
import { sessionHandlers as sess } from "./handlers/session.ts";
import { txnHandlers as txn, txnMaxBytes, txnTooLarge } from "./handlers/txn.ts";
import { eventHandlers as ev } from "./handlers/event.ts";
import { operatorRaftHandlers as opRaft } from "./handlers/operator.ts";
import { operatorAutopilotHandlers as opAuto } from "./handlers/operator-autopilot.ts";
import { operatorKeyringHandlers as opKeyring } from "./handlers/operator-keyring.ts";
import { agentConnectHandlers as agentConnect } from "./handlers/agent-connect.ts";
import { connectCaHandlers as connectCa } from "./handlers/connect-ca.ts";
import { connectIntentionHandlers as ixn } from "./handlers/connect-intentions.ts";
import { configEntryHandlers as config } from "./handlers/config-entries.ts";
import { discoveryChainHandlers as chain } from "./handlers/discovery-chain.ts";
import { SNAPSHOT_ARCHIVE_MAX_BYTES, snapshotHandlers as snap } from "./handlers/snapshot.ts";
import { uiHandlers as ui } from "./handlers/ui.ts";
import { aclHandlers as acl } from "./handlers/acl.ts";
import { debugPprofHandlers as pprof } from "./handlers/debug-pprof.ts";
import { coordinateHandlers as coord } from "./handlers/coordinate.ts";
import { EXECUTE_REMOTE_PATH, preparedQueryHandlers as pq } from "./handlers/prepared-query.ts";

// Every /v1 path, its methods and handler, in one table (after Consul's http_register.go).
// A path ending in "/" is a prefix route: the rest of the path, percent-decoded, is the
// request's `suffix` (a key, service ID, node name…).

export type Method = "GET" | "PUT" | "POST" | "DELETE";

export interface Route {
  path: string;
  methods: Partial<Record<Method, Handler>>;
  /**
   * The handler reads the body itself as a stream (ApiRequest.bodyStream) and enforces its own
   * limits; this caps what the listener accepts and what a forwarded (buffered) body may be.
   */
  streamedBodyLimit?: number;
  /** This route's body cap when not the default (request-body-limit.ts); read when the table is compiled. */
  bodyLimit?: (settings: HttpSettings) => number;
  /** The 413 for a body over the cap (`declared`: judged by Content-Length); default: request-body-limit.ts. */
  bodyTooLarge?: (size: number, max: number, declared: boolean) => ConsulError;
}

export const routes: readonly Route[] = [
  // agent: spec/agent.md
  { path: "/v1/agent/self", methods: { GET: a.self } },
  { path: "/v1/agent/members", methods: { GET: a.members } },
  { path: "/v1/agent/host", methods: { GET: a.host } },
  { path: "/v1/agent/version", methods: { GET: a.version } },
  { path: "/v1/agent/metrics", methods: { GET: a.metrics } },
  { path: "/v1/agent/monitor", methods: { GET: mon.monitor } },
  { path: "/v1/agent/metrics/stream", methods: { GET: ms.metricsStream } },
  // Go pprof's path, outside /v1 as in Consul (a V8 CPU profile here; see debug-pprof.ts).
  { path: "/debug/pprof/profile", methods: { GET: pprof.profile } },
  { path: "/debug/pprof/heap", methods: { GET: pprof.heap } },
  { path: "/debug/pprof/goroutine", methods: { GET: pprof.goroutine } },
  { path: "/debug/pprof/trace", methods: { GET: pprof.trace } },
  { path: "/v1/agent/reload", methods: { PUT: a.reload } },
  { path: "/v1/agent/maintenance", methods: { PUT: a.maintenance } },
  { path: "/v1/agent/join/", methods: { PUT: a.join } },
  { path: "/v1/agent/leave", methods: { PUT: a.leave } },
  { path: "/v1/agent/force-leave/", methods: { PUT: a.forceLeave } },
  { path: "/v1/agent/token/", methods: { PUT: a.token } },
  { path: "/v1/agent/services", methods: { GET: svc.services } },
  { path: "/v1/agent/service/register", methods: { PUT: svc.serviceRegister } },
  { path: "/v1/agent/service/deregister/", methods: { PUT: svc.serviceDeregister } },
  { path: "/v1/agent/service/maintenance/", methods: { PUT: svc.serviceMaintenance } },
  { path: "/v1/agent/service/", methods: { GET: svc.service } },
  { path: "/v1/agent/health/service/name/", methods: { GET: svc.healthServiceByName } },
  { path: "/v1/agent/health/service/id/", methods: { GET: svc.healthServiceById } },
  { path: "/v1/agent/checks", methods: { GET: svc.checks } },
  { path: "/v1/agent/check/register", methods: { PUT: svc.checkRegister } },
  { path: "/v1/agent/check/deregister/", methods: { PUT: svc.checkDeregister } },
  { path: "/v1/agent/check/pass/", methods: { PUT: svc.checkPass } },
  { path: "/v1/agent/check/warn/", methods: { PUT: svc.checkWarn } },
  { path: "/v1/agent/check/fail/", methods: { PUT: svc.checkFail } },
  { path: "/v1/agent/check/update/", methods: { PUT: svc.checkUpdate } },

  // catalog: spec/catalog.md
  { path: "/v1/catalog/register", methods: { PUT: c.register } },
  { path: "/v1/catalog/deregister", methods: { PUT: c.deregister } },
  { path: "/v1/catalog/datacenters", methods: { GET: c.datacenters } },
  { path: "/v1/catalog/nodes", methods: { GET: c.nodes } },
  { path: "/v1/catalog/services", methods: { GET: c.services } },
  { path: "/v1/catalog/service/", methods: { GET: c.service } },
  { path: "/v1/catalog/connect/", methods: { GET: c.connect } },
  { path: "/v1/catalog/node/", methods: { GET: c.node } },
  { path: "/v1/catalog/node-services/", methods: { GET: c.nodeServices } },
  { path: "/v1/catalog/gateway-services/", methods: { GET: c.gatewayServices } },

  // health: spec/health.md
  { path: "/v1/health/node/", methods: { GET: h.node } },
  { path: "/v1/health/checks/", methods: { GET: h.checks } },
  { path: "/v1/health/service/", methods: { GET: h.service } },
  { path: "/v1/health/connect/", methods: { GET: h.connect } },
  { path: "/v1/health/ingress/", methods: { GET: h.ingress } },
  { path: "/v1/health/state/", methods: { GET: h.state } },

  // kv: spec/kv.md
  { path: "/v1/kv/", methods: { GET: kv.get, PUT: kv.put, DELETE: kv.delete }, bodyLimit: (s) => s.kvMaxValueSizeBytes },

  // status: spec/status-event-coordinate.md
  { path: "/v1/status/leader", methods: { GET: s.leader } },
  { path: "/v1/status/peers", methods: { GET: s.peers } },

  // session: spec/session.md
  { path: "/v1/session/create", methods: { PUT: sess.create } },
  { path: "/v1/session/destroy/", methods: { PUT: sess.destroy } },
  { path: "/v1/session/info/", methods: { GET: sess.info } },
  { path: "/v1/session/node/", methods: { GET: sess.node } },
  { path: "/v1/session/list", methods: { GET: sess.list } },
  { path: "/v1/session/renew/", methods: { PUT: sess.renew } },

  // txn: spec/txn.md
  { path: "/v1/txn", methods: { PUT: txn.txn }, bodyLimit: txnMaxBytes, bodyTooLarge: txnTooLarge },

  // coordinates: spec/status-event-coordinate.md §3, multi-dc.md §5
  { path: "/v1/coordinate/datacenters", methods: { GET: coord.datacenters } },
  { path: "/v1/coordinate/nodes", methods: { GET: coord.nodes } },
  { path: "/v1/coordinate/node/", methods: { GET: coord.node } },
  { path: "/v1/coordinate/update", methods: { PUT: coord.update } },

  // prepared queries: spec/operator-snapshot-query.md §5, multi-dc.md §6
  { path: "/v1/query", methods: { GET: pq.list, POST: pq.create } },
  { path: "/v1/query/", methods: { GET: pq.specificGet, PUT: pq.specificPut, DELETE: pq.specificDelete } },
  /** Consulate-internal: a failing-over datacenter runs a rendered query here (Consul's PreparedQuery.ExecuteRemote RPC). */
  { path: EXECUTE_REMOTE_PATH, methods: { POST: pq.executeRemote } },

  // event: spec/status-event-coordinate.md §2
  { path: "/v1/event/fire/", methods: { PUT: ev.fire } },
  { path: "/v1/event/list", methods: { GET: ev.list } },

  // operator and snapshots: spec/operator-snapshot-query.md §1, §2, §4
  { path: "/v1/operator/raft/configuration", methods: { GET: opRaft.configuration } },
  { path: "/v1/operator/raft/peer", methods: { DELETE: opRaft.removePeer } },
  { path: "/v1/operator/raft/transfer-leader", methods: { POST: opRaft.transferLeader } },
  { path: "/v1/operator/autopilot/configuration", methods: { GET: opAuto.getConfiguration, PUT: opAuto.setConfiguration } },
  { path: "/v1/operator/autopilot/health", methods: { GET: opAuto.health } },
  { path: "/v1/operator/autopilot/state", methods: { GET: opAuto.state } },
  { path: "/v1/operator/keyring", methods: { GET: opKeyring.list, POST: opKeyring.install, PUT: opKeyring.use, DELETE: opKeyring.remove } },
  // connect: spec/connect.md
  { path: "/v1/connect/ca/roots", methods: { GET: connectCa.roots } },
  { path: "/v1/connect/ca/configuration", methods: { GET: connectCa.getConfiguration, PUT: connectCa.setConfiguration } },
  { path: "/v1/agent/connect/ca/roots", methods: { GET: agentConnect.roots } },
  { path: "/v1/agent/connect/ca/leaf/", methods: { GET: agentConnect.leaf } },
  { path: "/v1/agent/connect/authorize", methods: { POST: agentConnect.authorize } },
  { path: "/v1/connect/intentions", methods: { GET: ixn.list, POST: ixn.create } },
  { path: "/v1/connect/intentions/exact", methods: { GET: ixn.exact, PUT: ixn.exact, DELETE: ixn.exact } },
  { path: "/v1/connect/intentions/match", methods: { GET: ixn.match } },
  { path: "/v1/connect/intentions/check", methods: { GET: ixn.check } },
  { path: "/v1/connect/intentions/", methods: { GET: ixn.byId, PUT: ixn.byId, DELETE: ixn.byId } },
  { path: "/v1/config", methods: { PUT: config.apply } },
  { path: "/v1/config/", methods: { GET: config.get, DELETE: config.remove } },
  { path: "/v1/discovery-chain/", methods: { GET: chain.chain, POST: chain.chain } },
  /** Consulate-internal: the leader signs an agent's CSR (Consul's ConnectCA.Sign RPC). */
  { path: "/v1/internal/consulate/connect-ca/sign", methods: { POST: connectCa.sign } },
  { path: "/v1/snapshot", methods: { GET: snap.save, PUT: snap.restore }, streamedBodyLimit: SNAPSHOT_ARCHIVE_MAX_BYTES },

  // web UI summaries: spec/ui.md §3.2
  { path: "/v1/internal/ui/services", methods: { GET: ui.services } },
  { path: "/v1/internal/ui/nodes", methods: { GET: ui.nodes } },
  { path: "/v1/internal/ui/node/", methods: { GET: ui.node } },

  // acl: spec/acl.md §4 (auth methods, binding rules, login/logout: not yet, unknown routes)
  { path: "/v1/acl/bootstrap", methods: { PUT: acl.bootstrap } },
  { path: "/v1/acl/replication", methods: { GET: acl.replication } },
  { path: "/v1/acl/tokens", methods: { GET: acl.tokenList } },
  { path: "/v1/acl/token", methods: { PUT: acl.tokenCreate } },
  { path: "/v1/acl/token/self", methods: { GET: acl.tokenSelf } },
  { path: "/v1/acl/token/", methods: { GET: acl.tokenRead, PUT: acl.tokenPut, DELETE: acl.tokenDelete } },
  { path: "/v1/acl/policies", methods: { GET: acl.policyList } },
  { path: "/v1/acl/policy", methods: { PUT: acl.policyCreate } },
  { path: "/v1/acl/policy/name/", methods: { GET: acl.policyByName } },
  { path: "/v1/acl/policy/", methods: { GET: acl.policyById, PUT: acl.policyById, DELETE: acl.policyById } },
  { path: "/v1/acl/roles", methods: { GET: acl.roleList } },
  { path: "/v1/acl/role", methods: { PUT: acl.roleCreate } },
  { path: "/v1/acl/role/name/", methods: { GET: acl.roleByName } },
  { path: "/v1/acl/role/", methods: { GET: acl.roleById, PUT: acl.roleById, DELETE: acl.roleById } },
  { path: "/v1/acl/templated-policies", methods: { GET: acl.templatedList } },
  { path: "/v1/acl/templated-policy/name/", methods: { GET: acl.templatedRead } },
];
