import type { AclLink, AclNodeIdentity, AclServiceIdentity, AclTemplatedPolicy } from "../../model/acl.ts";
import type { PolicyInput, RoleInput, TokenInput } from "../../acl/object-writers.ts";
import { ConsulError } from "../../errors/catalog.ts";
import { parseDurationField } from "../../model/duration.ts";
import { bool, field, isObject, list, parseJsonBodyInTurns, str, strList, type JsonObject } from "../../decode/json-body.ts";

// Request bodies of the ACL endpoints, decoded like Go's encoding/json (case-insensitive keys).
// A body that does not decode is 400 with Consul's `<Kind> decoding failed: …` prefix.

type Kind = "Token" | "Policy" | "Role";

function decodeFailed(kind: Kind, detail: string): ConsulError {
  return new ConsulError("BadRequest", `${kind} decoding failed: ${detail}`);
}

function withKind<T>(kind: Kind, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConsulError && err.code === "DecodeFailed") throw decodeFailed(kind, err.message.replace(/^Request decode failed: /, ""));
    throw err;
  }
}

/** The body through the one JSON body seam (sliced when large), with the ACL endpoints' error prefix. */
export async function parseBody(kind: Kind, body: Buffer | undefined, optional = false): Promise<JsonObject> {
  let raw: unknown;
  try {
    raw = await parseJsonBodyInTurns(body, { optional });
  } catch (err) {
    if (err instanceof ConsulError && err.code === "DecodeFailed") throw decodeFailed(kind, err.message.replace(/^Request decode failed: /, ""));
    throw err;
  }
  if (raw === undefined) return {};
  if (!isObject(raw)) throw decodeFailed(kind, "json: cannot unmarshal non-object into Go value");
  return raw;
}

function objects(o: JsonObject, name: string): JsonObject[] {
  const v = list(o, name) ?? [];
  return v.map((x) => {
    if (!isObject(x)) throw new ConsulError("DecodeFailed", `json: cannot unmarshal ${typeof x} into Go struct field .${name}`);
    return x;
  });
}

function links(o: JsonObject, name: string): AclLink[] {
  return objects(o, name).map((l) => ({ ID: str(l, "ID"), Name: str(l, "Name") }));
}

function serviceIdentities(o: JsonObject): AclServiceIdentity[] {
  return objects(o, "ServiceIdentities").map((s) => {
    const dcs = strList(s, "Datacenters");
    return dcs && dcs.length > 0 ? { ServiceName: str(s, "ServiceName"), Datacenters: dcs } : { ServiceName: str(s, "ServiceName") };
  });
}

function nodeIdentities(o: JsonObject): AclNodeIdentity[] {
  return objects(o, "NodeIdentities").map((n) => ({ NodeName: str(n, "NodeName"), Datacenter: str(n, "Datacenter") }));
}

function templatedPolicies(o: JsonObject): AclTemplatedPolicy[] {
  return objects(o, "TemplatedPolicies").map((t) => {
    const vars = field(t, "TemplateVariables");
    const dcs = strList(t, "Datacenters");
    const out: AclTemplatedPolicy = { TemplateName: str(t, "TemplateName") };
    if (isObject(vars)) out.TemplateVariables = { Name: str(vars, "Name") };
    if (dcs && dcs.length > 0) out.Datacenters = dcs;
    return out;
  });
}

export function decodeToken(o: JsonObject): TokenInput {
  return withKind("Token", () => {
    const ttl = field(o, "ExpirationTTL");
    let ttlMs = 0;
    if (ttl !== undefined) {
      try {
        ttlMs = parseDurationField(ttl);
      } catch (e) {
        throw new ConsulError("DecodeFailed", e instanceof Error ? e.message : String(e));
      }
    }
    return {
      AccessorID: str(o, "AccessorID"),
      SecretID: str(o, "SecretID"),
      Description: str(o, "Description"),
      Policies: links(o, "Policies"),
      Roles: links(o, "Roles"),
      ServiceIdentities: serviceIdentities(o),
      NodeIdentities: nodeIdentities(o),
      TemplatedPolicies: templatedPolicies(o),
      Local: bool(o, "Local"),
      AuthMethod: str(o, "AuthMethod"),
      ExpirationTime: str(o, "ExpirationTime"),
      ExpirationTtlMs: ttlMs,
    };
  });
}

export function decodePolicy(o: JsonObject): PolicyInput {
  return withKind("Policy", () => ({
    ID: str(o, "ID"),
    Name: str(o, "Name"),
    Description: str(o, "Description"),
    Rules: str(o, "Rules"),
    Datacenters: strList(o, "Datacenters"),
  }));
}

export function decodeRole(o: JsonObject): RoleInput {
  return withKind("Role", () => ({
    ID: str(o, "ID"),
    Name: str(o, "Name"),
    Description: str(o, "Description"),
    Policies: links(o, "Policies"),
    ServiceIdentities: serviceIdentities(o),
    NodeIdentities: nodeIdentities(o),
    TemplatedPolicies: templatedPolicies(o),
  }));
}
