// Prepared queries (Consul's structs.PreparedQuery), field names and order as Consul's JSON.

export interface QueryFailoverTarget {
  Peer: string;
  Datacenter: string;
}

export interface QueryFailoverOptions {
  /** Try this many other datacenters, nearest first by WAN round-trip time. */
  NearestN: number;
  /** Then these, in order (unknown ones skipped, each tried once). */
  Datacenters: string[] | null;
  /** Instead of both: these, in order. */
  Targets: QueryFailoverTarget[] | null;
}

export interface ServiceQuery {
  Service: string;
  SamenessGroup: string;
  Failover: QueryFailoverOptions;
  OnlyPassing: boolean;
  IgnoreCheckIDs: string[] | null;
  Near: string;
  /** Required tags; `!tag` forbids one (case-insensitive). */
  Tags: string[] | null;
  NodeMeta: Record<string, string> | null;
  ServiceMeta: Record<string, string> | null;
  Connect: boolean;
  Peer: string;
}

export interface QueryTemplateOptions {
  /** "" (not a template) or "name_prefix_match". */
  Type: string;
  Regexp: string;
  RemoveEmptyTags: boolean;
}

export interface QueryDnsOptions {
  TTL: string;
}

export interface PreparedQuery {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: QueryTemplateOptions;
  Service: ServiceQuery;
  DNS: QueryDnsOptions;
  CreateIndex: number;
  ModifyIndex: number;
}

export const TEMPLATE_TYPE_NAME_PREFIX_MATCH = "name_prefix_match";

/** Consul's redactedToken: what readers without the right to see a query's Token get. */
export const REDACTED_TOKEN = "<hidden>";

export function isTemplate(q: Pick<PreparedQuery, "Template">): boolean {
  return q.Template.Type !== "";
}

/** The name ACL prefix rules apply to (GetACLPrefix); undefined for an unnamed non-template. */
export function aclPrefixOf(q: Pick<PreparedQuery, "Name" | "Template">): string | undefined {
  return q.Name !== "" || q.Template.Type !== "" ? q.Name : undefined;
}

const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

export function looksLikeUuid(s: string): boolean {
  return s.length === 36 && UUID.test(s);
}
