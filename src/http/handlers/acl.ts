import type { Authorizer } from "../../acl/authorizer.ts";
import { BOOTSTRAP_TOKEN_DESCRIPTION, GLOBAL_MANAGEMENT_POLICY_ID, TEMPLATED_POLICIES } from "../../acl/builtin.ts";
import {
  buildNewToken, buildNewTokenSteps, buildPolicy, checkPolicyRules, buildRoleSteps, buildTokenCloneSteps, buildTokenUpdateSteps, checkPolicyDeletable, checkTokenDeletable,
} from "../../acl/object-writers.ts";
import type { AclService } from "../../acl/service.ts";
import { ConsulError, errors } from "../../errors/catalog.ts";
import { ACL_BOOTSTRAP_NOT_ALLOWED } from "../../fsm/acl.ts";
import type { Command } from "../../fsm/command.ts";
import type { AclPolicy, AclRole, AclToken } from "../../model/acl.ts";
import { runSliced } from "../../runtime/sliced-work.ts";
import type { AclTables } from "../../state/acl-tables.ts";
import { str } from "../../decode/json-body.ts";
import type { ApiRequest, Handler, HttpContext } from "../context.ts";
import { first, has, requestToken } from "../query.ts";
import { blockingRead, queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";
import { decodePolicy, decodeRoleSteps, decodeTokenSteps, parseBody } from "./acl-decode.ts";
import { expandedTokenView } from "./acl-expanded.ts";
import { policyStubView, policyView, roleView, tokenView } from "./acl-views.ts";

// /v1/acl/*: spec/acl.md §4-5, after Consul's agent/acl_endpoint.go. Every handler first
// checks that ACLs are enabled (401 "ACL support disabled" otherwise), then resolves the
// caller's token in the one place tokens become authorizers (request-authorizer.ts).

function aclOf(ctx: HttpContext): AclService {
  if (!ctx.acl) throw errors.aclDisabled();
  return ctx.acl;
}

/** The request's authorizer, as the dispatcher resolved it (compiled in slices when it had to be). */
function caller(ctx: HttpContext, req: ApiRequest): Authorizer {
  aclOf(ctx);
  return requestAuthorizer(ctx, req);
}

function tables(ctx: HttpContext): AclTables {
  return ctx.state.acl;
}

/** Proposes an ACL write; apply's refusals come back as 500 with their text, like RPC errors. */
async function propose(ctx: HttpContext, cmd: Command): Promise<unknown> {
  const { result } = await ctx.consensus.propose(cmd);
  if (!result.ok) throw errors.internal(result.error);
  return result.value;
}

const notExist = (kind: string) => errors.notFound(`Requested ${kind} does not exist: ACL not found`);

// ---- bootstrap and replication

const bootstrap: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  let bootstrapSecret = "";
  if (req.body && req.body.length > 0) {
    let body;
    try {
      body = await parseBody("Token", req.body, true);
      bootstrapSecret = str(body, "BootstrapSecret");
    } catch (err) {
      const detail = err instanceof Error ? err.message.replace(/^Token decoding failed: /, "") : String(err);
      throw new ConsulError("BadRequest", `Request decoding failed: ${detail}`);
    }
  }
  const boot = tables(ctx).bootstrap();
  let resetIndex = 0;
  if (!boot.allowBootstrap) {
    resetIndex = acl.bootstrapReset ? await acl.bootstrapReset.read() : 0;
    if (resetIndex === 0) throw errors.permissionDenied(`${ACL_BOOTSTRAP_NOT_ALLOWED} (reset index: ${boot.resetIndex})`);
    if (resetIndex !== boot.resetIndex) {
      throw errors.internal(`Invalid bootstrap reset index (specified ${resetIndex}, reset index: ${boot.resetIndex})`);
    }
  }
  const token = buildNewToken(acl.writer(), {
    AccessorID: "",
    SecretID: bootstrapSecret,
    Description: BOOTSTRAP_TOKEN_DESCRIPTION,
    Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: "" }],
    Roles: [],
    ServiceIdentities: [],
    NodeIdentities: [],
    TemplatedPolicies: [],
    Local: false,
    AuthMethod: "",
    ExpirationTime: "",
    ExpirationTtlMs: 0,
  });
  const { result } = await ctx.consensus.propose({ Type: "acl-bootstrap", Token: token, ResetIndex: resetIndex });
  if (!result.ok) {
    if (result.error === ACL_BOOTSTRAP_NOT_ALLOWED) throw errors.permissionDenied(`${ACL_BOOTSTRAP_NOT_ALLOWED} (reset index: ${tables(ctx).bootstrap().resetIndex})`);
    throw errors.internal(result.error);
  }
  if (resetIndex !== 0) await acl.bootstrapReset?.remove();
  const stored = result.value as AclToken;
  return json({ ID: stored.SecretID, ...tokenView(tables(ctx), stored, true) });
};

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Replication is a secondary-datacenter feature; a primary reports it off. */
const replication: Handler = (ctx) => {
  aclOf(ctx);
  return json({
    Enabled: false,
    Running: false,
    SourceDatacenter: ctx.settings.datacenter,
    ReplicationType: "",
    ReplicatedIndex: 0,
    ReplicatedRoleIndex: 0,
    ReplicatedTokenIndex: 0,
    LastSuccess: ZERO_TIME,
    LastError: ZERO_TIME,
    LastErrorMessage: "",
  });
};

// ---- tokens

const tokenList: Handler = async (ctx, req) => {
  const authz = caller(ctx, req);
  authz.require("acl:read");
  const showSecrets = authz.allowed("acl:write");
  const filter = {
    policy: first(req.query, "policy") || undefined,
    role: first(req.query, "role") || undefined,
    serviceName: first(req.query, "servicename") || undefined,
    authMethod: first(req.query, "authmethod") || undefined,
  };
  const t = tables(ctx);
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => {
    const rows = t.tokens.list(filter, ws);
    t.policies.list(ws);
    t.roles.list(ws);
    return { index: t.tokens.tableIndex, value: rows.map((row) => tokenView(t, row, showSecrets)) };
  }, (value) => json(value));
};

const tokenCreate: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  caller(ctx, req).require("acl:write");
  const input = await runSliced(decodeTokenSteps(await parseBody("Token", req.body)));
  const token = await runSliced(buildNewTokenSteps(acl.writer(), input));
  const stored = (await propose(ctx, { Type: "acl-token-set", Token: token })) as AclToken;
  return json(tokenView(tables(ctx), stored, true));
};

const tokenSelf: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  const secret = acl.effectiveSecret(requestToken(req.query, req.headers));
  caller(ctx, req);
  const t = tables(ctx);
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => {
    const row = t.tokens.getBySecret(secret, ws);
    return { index: t.tokens.tableIndex, value: row };
  }, (row) => {
    if (!row) throw errors.notFound("Supplied token does not exist");
    return json(tokenView(t, row, true));
  });
};

function tokenIdFrom(req: ApiRequest): string {
  if (req.suffix === "") throw errors.badRequest("Missing token AccessorID");
  return req.suffix;
}

const tokenRead: Handler = async (ctx, req) => {
  const authz = caller(ctx, req);
  const id = tokenIdFrom(req);
  authz.require("acl:read");
  const showSecret = authz.allowed("acl:write");
  const expanded = has(req.query, "expanded");
  const t = tables(ctx);
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => ({ index: t.tokens.tableIndex, value: t.tokens.get(id, ws) }), (row) => {
    if (!row) throw notExist("token");
    if (!expanded) return json(tokenView(t, row, showSecret));
    const settings = aclOf(ctx).settings;
    return json(expandedTokenView(t, row, showSecret, { defaultPolicy: settings.defaultPolicy, downPolicy: settings.downPolicy, nodeName: ctx.settings.nodeName }));
  });
};

const tokenPut: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  if (req.suffix.endsWith("/clone")) return tokenClone(ctx, req, acl, req.suffix.slice(0, -"/clone".length));
  caller(ctx, req).require("acl:write");
  const input = await runSliced(decodeTokenSteps(await parseBody("Token", req.body)));
  if (input.AccessorID === "") input.AccessorID = req.suffix;
  if (input.AccessorID !== req.suffix) throw errors.badRequest("Token Accessor ID in URL and payload do not match");
  const token = await runSliced(buildTokenUpdateSteps(acl.writer(), input));
  const stored = (await propose(ctx, { Type: "acl-token-set", Token: token })) as AclToken;
  return json(tokenView(tables(ctx), stored, true));
};

async function tokenClone(ctx: HttpContext, req: ApiRequest, acl: AclService, accessorId: string) {
  const body = await parseBody("Token", req.body, true);
  const description = (await runSliced(decodeTokenSteps(body))).Description;
  caller(ctx, req).require("acl:write");
  const token = await runSliced(buildTokenCloneSteps(acl.writer(), accessorId, description === "" ? undefined : description));
  const stored = (await propose(ctx, { Type: "acl-token-set", Token: token })) as AclToken;
  return json(tokenView(tables(ctx), stored, true));
}

const tokenDelete: Handler = async (ctx, req) => {
  const id = tokenIdFrom(req);
  caller(ctx, req).require("acl:write");
  if (!tables(ctx).tokens.get(id)) throw errors.notFound("Cannot find token to delete");
  checkTokenDeletable(id);
  await propose(ctx, { Type: "acl-token-delete", AccessorIDs: [id] });
  return json(true);
};

// ---- policies

const policyList: Handler = async (ctx, req) => {
  caller(ctx, req).require("acl:read");
  const t = tables(ctx);
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => ({ index: t.policies.tableIndex, value: t.policies.list(ws).map(policyStubView) }), (v) => json(v));
};

function policyRead(ctx: HttpContext, req: ApiRequest, find: (ws: Parameters<AclTables["policies"]["get"]>[1]) => AclPolicy | undefined) {
  caller(ctx, req).require("acl:read");
  const t = tables(ctx);
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => ({ index: t.policies.tableIndex, value: find(ws) }), (row) => {
    if (!row) throw notExist("policy");
    return json(policyView(row));
  });
}

const policyCreate: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  caller(ctx, req).require("acl:write");
  const input = decodePolicy(await parseBody("Policy", req.body));
  if (input.ID !== "") throw errors.badRequest("Cannot specify the ID when creating a new policy");
  const rules = await checkPolicyRules(input.Rules);
  const policy = buildPolicy(acl.writer(), input, rules);
  return json(policyView((await propose(ctx, { Type: "acl-policy-set", Policy: policy })) as AclPolicy));
};

const policyById: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  const id = req.suffix;
  if (id === "" && req.method !== "PUT") throw errors.badRequest("Missing policy ID");
  if (req.method === "GET") return policyRead(ctx, req, (ws) => tables(ctx).policies.get(id, ws));
  caller(ctx, req).require("acl:write");
  if (req.method === "DELETE") {
    if (!tables(ctx).policies.get(id)) throw errors.notFound("Cannot find policy to delete");
    checkPolicyDeletable(id);
    await propose(ctx, { Type: "acl-policy-delete", IDs: [id] });
    return json(true);
  }
  const input = decodePolicy(await parseBody("Policy", req.body));
  if (input.ID !== "" && input.ID !== id) throw errors.badRequest("Policy ID in URL and payload do not match");
  input.ID = id;
  const rules = await checkPolicyRules(input.Rules);
  const policy = buildPolicy(acl.writer(), input, rules);
  return json(policyView((await propose(ctx, { Type: "acl-policy-set", Policy: policy })) as AclPolicy));
};

const policyByName: Handler = (ctx, req) => {
  aclOf(ctx);
  if (req.suffix === "") throw errors.badRequest("Missing policy Name");
  return policyRead(ctx, req, (ws) => tables(ctx).policies.getByName(req.suffix, ws));
};

// ---- roles

const roleList: Handler = async (ctx, req) => {
  caller(ctx, req).require("acl:read");
  const t = tables(ctx);
  const policy = first(req.query, "policy") || undefined;
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => {
    const rows = t.roles.list(ws).filter((r) => !policy || r.Policies.some((p) => p.ID === policy));
    t.policies.list(ws);
    return { index: t.roles.tableIndex, value: rows.map((r) => roleView(t, r)) };
  }, (v) => json(v));
};

function roleRead(ctx: HttpContext, req: ApiRequest, find: (ws: Parameters<AclTables["roles"]["get"]>[1]) => AclRole | undefined) {
  caller(ctx, req).require("acl:read");
  const t = tables(ctx);
  return blockingRead(ctx, req, queryOptions(ctx, req), (ws) => ({ index: t.roles.tableIndex, value: find(ws) }), (row) => {
    if (!row) throw notExist("role");
    return json(roleView(t, row));
  });
}

const roleCreate: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  caller(ctx, req).require("acl:write");
  const input = await runSliced(decodeRoleSteps(await parseBody("Role", req.body)));
  if (input.ID !== "") throw errors.badRequest("Cannot specify the ID when creating a new role");
  const role = await runSliced(buildRoleSteps(acl.writer(), input));
  return json(roleView(tables(ctx), (await propose(ctx, { Type: "acl-role-set", Role: role })) as AclRole));
};

const roleById: Handler = async (ctx, req) => {
  const acl = aclOf(ctx);
  const id = req.suffix;
  if (id === "" && req.method !== "PUT") throw errors.badRequest("Missing role ID");
  if (req.method === "GET") return roleRead(ctx, req, (ws) => tables(ctx).roles.get(id, ws));
  caller(ctx, req).require("acl:write");
  if (req.method === "DELETE") {
    if (!tables(ctx).roles.get(id)) throw errors.notFound("Cannot find role to delete");
    await propose(ctx, { Type: "acl-role-delete", IDs: [id] });
    return json(true);
  }
  const input = await runSliced(decodeRoleSteps(await parseBody("Role", req.body)));
  if (input.ID !== "" && input.ID !== id) throw errors.badRequest("Role ID in URL and payload do not match");
  input.ID = id;
  const role = await runSliced(buildRoleSteps(acl.writer(), input));
  return json(roleView(tables(ctx), (await propose(ctx, { Type: "acl-role-set", Role: role })) as AclRole));
};

const roleByName: Handler = (ctx, req) => {
  aclOf(ctx);
  if (req.suffix === "") throw errors.badRequest("Missing role Name");
  return roleRead(ctx, req, (ws) => tables(ctx).roles.getByName(req.suffix, ws));
};

// ---- templated policies (read-only catalog of the built-in templates)

function templateView(name: string): Record<string, unknown> | undefined {
  const def = TEMPLATED_POLICIES.get(name);
  if (!def) return undefined;
  return {
    TemplateName: def.TemplateName,
    Schema: def.needsName ? TEMPLATE_NAME_SCHEMA : "",
    Template: def.rules("{{.Name}}"),
    Description: def.Description,
  };
}

const TEMPLATE_NAME_SCHEMA = `{
  "type": "object",
  "properties": {
    "name": { "type": "string", "$ref": "#/definitions/min-length-one" }
  },
  "required": ["name"],
  "definitions": {
    "min-length-one": {
      "type": "string",
      "minLength": 1
    }
  }
}`;

const templatedList: Handler = (ctx, req) => {
  caller(ctx, req).require("acl:read");
  const out: Record<string, unknown> = {};
  for (const name of TEMPLATED_POLICIES.keys()) out[name] = templateView(name);
  return json(out);
};

const templatedRead: Handler = (ctx, req) => {
  caller(ctx, req).require("acl:read");
  if (req.suffix === "") throw errors.badRequest("Missing templated policy Name");
  const view = templateView(req.suffix);
  if (!view) throw errors.badRequest(`Invalid templated policy Name: ${req.suffix}`);
  return json(view);
};

export const aclHandlers = {
  bootstrap,
  replication,
  tokenList,
  tokenCreate,
  tokenSelf,
  tokenRead,
  tokenPut,
  tokenDelete,
  policyList,
  policyCreate,
  policyById,
  policyByName,
  roleList,
  roleCreate,
  roleById,
  roleByName,
  templatedList,
  templatedRead,
};
