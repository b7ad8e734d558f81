import { errors } from "../errors/catalog.ts";
import type { PreparedQuery, QueryFailoverTarget, ServiceQuery } from "../model/prepared-query.ts";
import { isObject, type JsonObject } from "./json-body.ts";

// A prepared query body (Consul's structs.PreparedQuery as Go's encoding/json reads it: keys
// match case-insensitively, null means absent). Keys we do not know are refused rather than
// dropped, so a field we would ignore never looks accepted; Enterprise-only fields are taken
// when empty or "default".

export type PreparedQueryBody = Omit<PreparedQuery, "CreateIndex" | "ModifyIndex">;

type Kind = "string" | "bool" | "int" | "strings" | "strmap" | "object" | "objects";

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return "number";
  return typeof v;
}

const GO_TYPES: Record<Kind, string> = {
  string: "string",
  bool: "bool",
  int: "int",
  strings: "[]string",
  strmap: "map[string]string",
  object: "struct",
  objects: "[]struct",
};

class Reader {
  readonly #o: JsonObject;
  readonly #path: string;
  readonly #known: Set<string>;

  constructor(o: JsonObject, path: string, known: readonly string[]) {
    this.#o = o;
    this.#path = path;
    this.#known = new Set(known.map((k) => k.toLowerCase()));
    for (const k of Object.keys(o)) {
      if (!this.#known.has(k.toLowerCase())) throw errors.decodeFailed(`json: unknown field "${k}"`);
    }
  }

  #get(name: string): unknown {
    if (name in this.#o) return this.#o[name];
    const lower = name.toLowerCase();
    for (const k of Object.keys(this.#o)) if (k.toLowerCase() === lower) return this.#o[k];
    return undefined;
  }

  #fail(name: string, kind: Kind, v: unknown): never {
    throw errors.decodeFailed(`json: cannot unmarshal ${kindOf(v)} into Go struct field ${this.#path}.${name} of type ${GO_TYPES[kind]}`);
  }

  str(name: string): string {
    const v = this.#get(name);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") this.#fail(name, "string", v);
    return v;
  }

  bool(name: string): boolean {
    const v = this.#get(name);
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") this.#fail(name, "bool", v);
    return v;
  }

  int(name: string): number {
    const v = this.#get(name);
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isInteger(v)) this.#fail(name, "int", v);
    return v;
  }

  strings(name: string): string[] | null {
    const v = this.#get(name);
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) this.#fail(name, "strings", v);
    return v as string[];
  }

  strmap(name: string): Record<string, string> | null {
    const v = this.#get(name);
    if (v === undefined || v === null) return null;
    if (!isObject(v) || Object.values(v).some((s) => typeof s !== "string")) this.#fail(name, "strmap", v);
    return { ...(v as Record<string, string>) };
  }

  object(name: string): JsonObject {
    const v = this.#get(name);
    if (v === undefined || v === null) return {};
    if (!isObject(v)) this.#fail(name, "object", v);
    return v;
  }

  objects(name: string): JsonObject[] | null {
    const v = this.#get(name);
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.some((o) => !isObject(o))) this.#fail(name, "objects", v);
    return v as JsonObject[];
  }

  /** An Enterprise-only string: accepted only when empty or "default". */
  communityOnly(name: string): void {
    const v = this.str(name);
    if (v !== "" && v !== "default") throw errors.badRequest(`${name} "${v}" is not supported: namespaces and admin partitions are Consul Enterprise features`);
  }
}

export function decodePreparedQuery(raw: unknown): PreparedQueryBody {
  if (raw === undefined) raw = {};
  if (!isObject(raw)) throw errors.decodeFailed(`json: cannot unmarshal ${kindOf(raw)} into Go value of type structs.PreparedQuery`);
  const top = new Reader(raw, "PreparedQuery", ["ID", "Name", "Session", "Token", "Template", "Service", "DNS", "CreateIndex", "ModifyIndex"]);
  const template = new Reader(top.object("Template"), "PreparedQuery.Template", ["Type", "Regexp", "RemoveEmptyTags"]);
  const dns = new Reader(top.object("DNS"), "PreparedQuery.DNS", ["TTL"]);
  return {
    ID: top.str("ID"),
    Name: top.str("Name"),
    Session: top.str("Session"),
    Token: top.str("Token"),
    Template: { Type: template.str("Type"), Regexp: template.str("Regexp"), RemoveEmptyTags: template.bool("RemoveEmptyTags") },
    Service: decodeServiceQuery(top.object("Service")),
    DNS: { TTL: dns.str("TTL") },
  };
}

function decodeServiceQuery(o: JsonObject): ServiceQuery {
  const path = "PreparedQuery.Service";
  const s = new Reader(o, path, [
    "Service",
    "SamenessGroup",
    "Failover",
    "OnlyPassing",
    "IgnoreCheckIDs",
    "Near",
    "Tags",
    "NodeMeta",
    "ServiceMeta",
    "Connect",
    "Peer",
    "Namespace",
    "Partition",
  ]);
  s.communityOnly("Namespace");
  s.communityOnly("Partition");
  const f = new Reader(s.object("Failover"), `${path}.Failover`, ["NearestN", "Datacenters", "Targets"]);
  const targets = f.objects("Targets");
  return {
    Service: s.str("Service"),
    SamenessGroup: s.str("SamenessGroup"),
    Failover: {
      NearestN: f.int("NearestN"),
      Datacenters: f.strings("Datacenters"),
      Targets: targets === null ? null : targets.map((t) => decodeTarget(t)),
    },
    OnlyPassing: s.bool("OnlyPassing"),
    IgnoreCheckIDs: s.strings("IgnoreCheckIDs"),
    Near: s.str("Near"),
    Tags: s.strings("Tags"),
    NodeMeta: s.strmap("NodeMeta"),
    ServiceMeta: s.strmap("ServiceMeta"),
    Connect: s.bool("Connect"),
    Peer: s.str("Peer"),
  };
}

function decodeTarget(o: JsonObject): QueryFailoverTarget {
  // The docs spell the peer `PeerName`; the Go client sends `Peer`.
  const t = new Reader(o, "PreparedQuery.Service.Failover.Targets", ["Peer", "PeerName", "Datacenter", "Namespace", "Partition"]);
  t.communityOnly("Namespace");
  t.communityOnly("Partition");
  return { Peer: t.str("Peer") || t.str("PeerName"), Datacenter: t.str("Datacenter") };
}
