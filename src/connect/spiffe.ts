// SPIFFE identities of Connect (spec/connect.md §2). The trust domain is `<cluster-id>.consul`
// whatever the DNS domain; OSS namespaces and partitions are always `default`.

export interface ServiceIdentity {
  trustDomain: string;
  namespace: string;
  partition: string;
  datacenter: string;
  service: string;
}

export function trustDomainOf(clusterId: string): string {
  return `${clusterId}.consul`;
}

/** The URI SAN of a CA certificate: `spiffe://<trust-domain>`. */
export function signingUri(trustDomain: string): string {
  return `spiffe://${trustDomain}`;
}

export function serviceUri(id: Omit<ServiceIdentity, "partition"> & { partition?: string }): string {
  const ap = id.partition && id.partition !== "default" ? `/ap/${id.partition}` : "";
  return `spiffe://${id.trustDomain}${ap}/ns/${id.namespace}/dc/${id.datacenter}/svc/${id.service}`;
}

const SERVICE_PATH = /^(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;

/** Parses a service SPIFFE ID; undefined for anything else (agent IDs, bad schemes, extra segments). */
export function parseServiceUri(raw: string): ServiceIdentity | undefined {
  const parsed = matchSpiffe(raw, SERVICE_PATH);
  if (!parsed) return undefined;
  const { trustDomain, m } = parsed;
  const dec = (s: string): string => decodeURIComponent(s);
  return { trustDomain, partition: dec(m[1] ?? "default"), namespace: dec(m[2]), datacenter: dec(m[3]), service: dec(m[4]) };
}

/** A spiffe:// URI (with a trust domain, no query or fragment) whose path matches `path`. */
function matchSpiffe(raw: string, path: RegExp): { trustDomain: string; m: RegExpExecArray } | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== "spiffe:" || url.hostname === "" || url.search !== "" || url.hash !== "") return undefined;
  const m = path.exec(url.pathname);
  return m ? { trustDomain: url.hostname.toLowerCase(), m } : undefined;
}

/** A client agent's identity in its auto_encrypt certificate (OSS: default partition). */
export interface AgentIdentity {
  trustDomain: string;
  datacenter: string;
  agent: string;
}

/** `spiffe://<trust-domain>/agent/client/dc/<dc>/id/<node>`. */
export function agentUri(id: AgentIdentity): string {
  return `spiffe://${id.trustDomain}/agent/client/dc/${encodeURIComponent(id.datacenter)}/id/${encodeURIComponent(id.agent)}`;
}

const AGENT_PATH = /^\/agent\/client\/dc\/([^/]+)\/id\/([^/]+)$/;

/** Parses an agent SPIFFE ID; undefined for anything else. */
export function parseAgentUri(raw: string): AgentIdentity | undefined {
  const parsed = matchSpiffe(raw, AGENT_PATH);
  if (!parsed) return undefined;
  const { trustDomain, m } = parsed;
  return { trustDomain, datacenter: decodeURIComponent(m[1]), agent: decodeURIComponent(m[2]) };
}
