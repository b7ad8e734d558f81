import type { Handler } from "./context.ts";
import { agentHandlers as a } from "./handlers/agent.ts";
import { catalogHandlers as c } from "./handlers/catalog.ts";
import { healthHandlers as h } from "./handlers/health.ts";
import { kvHandlers as kv } from "./handlers/kv.ts";
import { statusHandlers as s } from "./handlers/status.ts";

// Every /v1 path, its methods and handler, in one table (after Consul's http_register.go).
// A path ending in "/" is a prefix route: the rest of the path, percent-decoded, is the
// request's `suffix` (a key, service ID, node name…).

export type Method = "GET" | "PUT" | "POST" | "DELETE";

export interface Route {
  path: string;
  methods: Partial<Record<Method, Handler>>;
}

export const routes: readonly Route[] = [
  // agent: spec/agent.md
  { path: "/v1/agent/self", methods: { GET: a.self } },
  { path: "/v1/agent/members", methods: { GET: a.members } },
  { path: "/v1/agent/host", methods: { GET: a.host } },
  { path: "/v1/agent/version", methods: { GET: a.version } },
  { path: "/v1/agent/metrics", methods: { GET: a.metrics } },
  { path: "/v1/agent/reload", methods: { PUT: a.reload } },
  { path: "/v1/agent/maintenance", methods: { PUT: a.maintenance } },
  { path: "/v1/agent/join/", methods: { PUT: a.join } },
  { path: "/v1/agent/leave", methods: { PUT: a.leave } },
  { path: "/v1/agent/force-leave/", methods: { PUT: a.forceLeave } },
  { path: "/v1/agent/token/", methods: { PUT: a.token } },
  { path: "/v1/agent/services", methods: { GET: a.services } },
  { path: "/v1/agent/service/register", methods: { PUT: a.serviceRegister } },
  { path: "/v1/agent/service/deregister/", methods: { PUT: a.serviceDeregister } },
  { path: "/v1/agent/service/maintenance/", methods: { PUT: a.serviceMaintenance } },
  { path: "/v1/agent/service/", methods: { GET: a.service } },
  { path: "/v1/agent/health/service/name/", methods: { GET: a.healthServiceByName } },
  { path: "/v1/agent/health/service/id/", methods: { GET: a.healthServiceById } },
  { path: "/v1/agent/checks", methods: { GET: a.checks } },
  { path: "/v1/agent/check/register", methods: { PUT: a.checkRegister } },
  { path: "/v1/agent/check/deregister/", methods: { PUT: a.checkDeregister } },
  { path: "/v1/agent/check/pass/", methods: { PUT: a.checkPass } },
  { path: "/v1/agent/check/warn/", methods: { PUT: a.checkWarn } },
  { path: "/v1/agent/check/fail/", methods: { PUT: a.checkFail } },
  { path: "/v1/agent/check/update/", methods: { PUT: a.checkUpdate } },

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
  { path: "/v1/kv/", methods: { GET: kv.get, PUT: kv.put, DELETE: kv.delete } },

  // status: spec/status-event-coordinate.md
  { path: "/v1/status/leader", methods: { GET: s.leader } },
  { path: "/v1/status/peers", methods: { GET: s.peers } },
];
