import { agentTokenKindForEndpoint } from "../../acl/agent-tokens.ts";
import { ConsulError, errors } from "../../errors/catalog.ts";
import { isObject, parseJsonBodyInTurns, str } from "../../decode/json-body.ts";
import type { Handler } from "../context.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { empty } from "../reply.ts";

// PUT /v1/agent/token/<name> (Consul's AgentToken): acl:write, body {"Token": "<secret>"}.
// Current names and the legacy ones (acl_token, acl_agent_token, agent_master,
// acl_agent_master_token, acl_replication_token, dns_token); anything else is 404. With
// acl.enable_token_persistence the tokens are saved before the answer (agent-tokens.ts says
// which of them change behaviour).

export const agentToken: Handler = async (ctx, req) => {
  if (!ctx.acl) throw errors.aclDisabled();
  requestAuthorizer(ctx, req).require("acl:write");
  let token = "";
  const raw = await parseJsonBodyInTurns(req.body, { optional: true });
  if (raw !== undefined) {
    if (!isObject(raw)) throw new ConsulError("BadRequest", "Request decode failed: json: cannot unmarshal non-object into Go value of type api.AgentToken");
    token = str(raw, "Token");
  }
  const target = req.suffix;
  const kind = agentTokenKindForEndpoint(target);
  if (kind === undefined) throw errors.notFound(`Token ${JSON.stringify(target)} is unknown`);
  try {
    await ctx.acl.setAgentToken(kind, token);
  } catch (e) {
    throw errors.internal(`Failed to persist tokens - ${e instanceof Error ? e.message : String(e)}`);
  }
  ctx.logger.named("agent").info("Updated agent's ACL token", { token: target });
  return empty();
};
