import type { AclLink, AclNodeIdentity, AclServiceIdentity, AclTemplatedPolicy } from "../../model/acl.ts";
import { LINKS_PER_STEP, type PolicyInput, type RoleInput, type TokenInput } from "../../acl/object-writers.ts";
import { runWhole, type SlicedWork } from "../../runtime/sliced-work.ts";
import { ConsulError } from "../../errors/catalog.ts";
import { parseDurationField } from "../../model/duration.ts";
import { bool, field, isObject, list, parseJsonBodyInTurns, str, strList, type JsonObject } from "../../decode/json-body.ts";

// Request bodies of the ACL endpoints, decoded like Go's encoding/json (case-insensitive keys).
// A body that does not decode is 400 with Consul's `<Kind> decoding failed: …` prefix.

type Kind = "Token" | "Policy" | "Role";

function decodeFailed(kind: Kind, detail: string): ConsulError {
  return new ConsulError("BadRequest", `${kind} decoding failed: ${detail}`);
}

function* withKind<T>(kind: Kind, work: SlicedWork<T>): SlicedWork<T> {
  try {
    return yield* work;
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

// The lists below are decoded in steps of LINKS_PER_STEP elements (issue 12 item 6: a role
// or token body near the cap holds ~15k identities), as the builders that check them are.

/** Maps each element of the array `name` (non-objects refused), pausing every LINKS_PER_STEP. */
function* objects<T>(o: JsonObject, name: string, decode: (x: JsonObject) => T): SlicedWork<T[]> {
  const v = list(o, name) ?? [];
  // Every element is checked to be an object before any is decoded: the order of the errors.
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!isObject(x)) throw new ConsulError("DecodeFailed", `json: cannot unmarshal ${typeof x} into Go struct field .${name}`);
    if ((i + 1) % (LINKS_PER_STEP * 8) === 0) yield;
  }
  const out: T[] = [];
  for (const x of v as JsonObject[]) {
    out.push(decode(x));
    if (out.length % LINKS_PER_STEP === 0) yield;
  }
  return out;
}

function links(o: JsonObject, name: string): SlicedWork<AclLink[]> {
  return objects(o, name, (l) => ({ ID: str(l, "ID"), Name: str(l, "Name") }));
}

function serviceIdentities(o: JsonObject): SlicedWork<AclServiceIdentity[]> {
  return objects(o, "ServiceIdentities", (s): AclServiceIdentity => {
    const dcs = strList(s, "Datacenters");
    return dcs && dcs.length > 0 ? { ServiceName: str(s, "ServiceName"), Datacenters: dcs } : { ServiceName: str(s, "ServiceName") };
  });
}

function nodeIdentities(o: JsonObject): SlicedWork<AclNodeIdentity[]> {
  return objects(o, "NodeIdentities", (n) => ({ NodeName: str(n, "NodeName"), Datacenter: str(n, "Datacenter") }));
}

function templatedPolicies(o: JsonObject): SlicedWork<AclTemplatedPolicy[]> {
  return objects(o, "TemplatedPolicies", (t) => {
    const vars = field(t, "TemplateVariables");
    const dcs = strList(t, "Datacenters");
    const out: AclTemplatedPolicy = { TemplateName: str(t, "TemplateName") };
    if (isObject(vars)) out.TemplateVariables = { Name: str(vars, "Name") };
    if (dcs && dcs.length > 0) out.Datacenters = dcs;
    return out;
  });
}

/** A token body decoded, as sliced work. */
export function decodeTokenSteps(o: JsonObject): SlicedWork<TokenInput> {
  return withKind("Token", (function* (): SlicedWork<TokenInput> {
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
      Policies: yield* links(o, "Policies"),
      Roles: yield* links(o, "Roles"),
      ServiceIdentities: yield* serviceIdentities(o),
      NodeIdentities: yield* nodeIdentities(o),
      TemplatedPolicies: yield* templatedPolicies(o),
      Local: bool(o, "Local"),
      AuthMethod: str(o, "AuthMethod"),
      ExpirationTime: str(o, "ExpirationTime"),
      ExpirationTtlMs: ttlMs,
    };
  })());
}

export function decodePolicy(o: JsonObject): PolicyInput {
  return runWhole(withKind("Policy", (function* (): SlicedWork<PolicyInput> {
    return {
      ID: str(o, "ID"),
      Name: str(o, "Name"),
      Description: str(o, "Description"),
      Rules: str(o, "Rules"),
      Datacenters: strList(o, "Datacenters"),
    };
  })()));
}

/** A role body decoded, as sliced work. */
export function decodeRoleSteps(o: JsonObject): SlicedWork<RoleInput> {
  return withKind("Role", (function* (): SlicedWork<RoleInput> {
    return {
      ID: str(o, "ID"),
      Name: str(o, "Name"),
      Description: str(o, "Description"),
      Policies: yield* links(o, "Policies"),
      ServiceIdentities: yield* serviceIdentities(o),
      NodeIdentities: yield* nodeIdentities(o),
      TemplatedPolicies: yield* templatedPolicies(o),
    };
  })());
}
