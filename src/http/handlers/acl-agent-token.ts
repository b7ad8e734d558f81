import { ConsulError, errors } from "../../errors/catalog.ts";
import { isObject, str } from "../body.ts";
import type { Handler } from "../context.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { empty } from "../reply.ts";

// PUT /v1/agent/token/<name> (Consul's AgentToken): acl:write, body {"Token": "<secret>"}.
// Only the default token has an effect in this agent so far; the others are refused by name
// rather than stored without effect.

const DEFAULT_NAMES = new Set(["default", "acl_token"]);
const NOT_YET = new Set([
  "agent", "acl_agent_token", "agent_recovery", "agent_master", "acl_agent_master_token", "replication", "acl_replication_token",
  "config_file_service_registration", "dns", "dns_token",
]);

export const agentToken: Handler = (ctx, req) => {
  if (!ctx.acl) throw errors.aclDisabled();
  requestAuthorizer(ctx, req).require("acl:write");
  let token = "";
  const text = req.body && req.body.length > 0 ? req.body.toString("utf8") : "";
  if (text.trim() !== "") {
    let raw: unknown;
    try {
      raw = JSON.parse(text) as unknown;
    } catch (e) {
      throw new ConsulError("BadRequest", `Request decode failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!isObject(raw)) throw new ConsulError("BadRequest", "Request decode failed: json: cannot unmarshal non-object into Go value of type api.AgentToken");
    token = str(raw, "Token");
  }
  const target = req.suffix;
  if (DEFAULT_NAMES.has(target)) {
    ctx.acl.setDefaultToken(token);
    ctx.logger.named("agent").info("Updated agent's ACL token", { token: target });
    return empty();
  }
  if (NOT_YET.has(target)) throw errors.badRequest(`Setting the ${JSON.stringify(target)} token is not supported by this agent yet`);
  throw errors.notFound(`Token ${JSON.stringify(target)} is unknown`);
};
