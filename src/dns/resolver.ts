import type { Answer } from "dns-packet";
import type { HealthCheck, Node, NodeService } from "../model/catalog.ts";
import { parseGoDuration } from "../model/duration.ts";
import { dnsVisibleStatus } from "../model/health-status.ts";
import type { ServiceInstance } from "../state/catalog-tables.ts";
import { ingressGatewayInstances, type IngressState } from "../connect/gateway-read.ts";
import type { DnsCatalog, RemoteLookup } from "./remote-catalog.ts";
import type { Authorizer } from "../acl/authorizer.ts";
import type { DnsSettings } from "./dns-settings.ts";
import { filterHealthy, serviceInstances, shuffleInPlace, type HealthyInstance } from "./healthy-instances.ts";
import { nodeMetaTexts } from "./node-meta-txt.ts";
import { decodeAddrLabel, encodeAddrLabel, matchZone, parseQueryName, reverseName, type Locality, type ParsedQueryName } from "./query-name.ts";
import {
  addressRecord,
  ipFamily,
  cnameRecord,
  nsRecord,
  ptrRecord,
  recordKey,
  soaRecord,
  srvRecord,
  ttlSeconds,
  txtRecord,
  type Rcode,
} from "./records.ts";

// The pure resolver: one question plus the state store in, the records of the answer out
// (spec/dns.md sections 2-9). No sockets, no clock, no Math.random: the server passes `nowMs`
// and `random` in, so every answer can be pinned in a unit test.

export interface DnsQuestion {
  /** As received (case preserved), without the trailing dot; the root is ".". */
  name: string;
  /** dns-packet's type name: "A", "SRV", "UNKNOWN_65280"… */
  type: string;
}

/** The state the resolver reads: the store (its catalog tables), or a view of another datacenter's rows. */
export interface DnsState {
  catalog: DnsCatalog;
  lastIndex: number;
  /** Gateway config entries, for `<svc>.ingress.<domain>`; absent (a remote view): no ingress answers. */
  configEntries?: IngressState["configEntries"];
}

export interface ResolverContext {
  state: DnsState;
  /**
   * Names of other datacenters are answered there (service and node lookups): the resolver
   * returns a `remote` resolution and the server fetches the rows. Without it they are NXDOMAIN.
   */
  remoteDatacenters?: boolean;
  settings: DnsSettings;
  /** Uniform in [0, 1), for shuffling. */
  random: () => number;
  nowMs: number;
  /** Memo of service lookups between state changes; answers are identical with or without it. */
  cache?: ResolverCache;
  /**
   * With ACLs on: what the agent's DNS token may see. Nodes need node:read, service instances
   * service:read and node:read; what it may not see does not exist (spec/acl.md §8).
   */
  authz?: Authorizer;
  /**
   * Runs a prepared query the way GET /v1/query/<name>/execute[?dc=] does (through the agent's
   * own dispatcher: forwarded to a server, failover included); absent: `.query` names do not exist.
   */
  executeQuery?: (name: string, datacenter: string | undefined, sourceIp: string) => Promise<QueryExecution>;
  /** The asker's IP (its EDNS client subnet when it sent one), a prepared query's `near=_ip` source; "" unknown. */
  sourceIp?: string;
}

/** A prepared query's answer as DNS needs it, or why there is none. */
export type QueryExecution =
  | { status: "ok"; service: string; ttl: string; datacenter: string; nodes: { node: Node; service: NodeService; checks: readonly HealthCheck[] }[] }
  | { status: "not-found" }
  | { status: "error"; message: string };

/** Instances the DNS token may see (all of them without ACLs). */
function visibleInstances(ctx: ResolverContext, instances: ServiceInstance[]): ServiceInstance[] {
  const authz = ctx.authz;
  if (!authz) return instances;
  return instances.filter(({ node, service }) => authz.allowed("service:read", service.Service) && authz.allowed("node:read", node.Node));
}

/** What a service-like lookup computes before shuffling: reusable until the state moves. */
interface ServiceMaterial {
  healthy: HealthyInstance[];
  ttl: number;
  /** Per instance, built on the first SRV question; undefined entries were duplicates. */
  srv?: (SrvMaterial | undefined)[];
}

interface SrvMaterial {
  target: string;
  port: number;
  weight: number;
  extras: Answer[];
  /** recordKey of each extra, computed once. */
  extraKeys: string[];
  /** The target is a hostname whose records come from other names: not cacheable per service. */
  viaHostname: boolean;
}

/** Bounded: past this many distinct lookups the memo starts over. */
const CACHE_MAX_ENTRIES = 10_000;

/**
 * Service lookups memoised per (domain, kind, name, tag), dropped whenever the state's applied
 * index or the settings object changes. DNS traffic is read-heavy and bursty on few names.
 */
export class ResolverCache {
  #index = -1;
  #settings: DnsSettings | undefined;
  readonly #entries = new Map<string, ServiceMaterial>();

  lookup(ctx: ResolverContext, key: string, compute: () => ServiceMaterial): ServiceMaterial {
    if (this.#index !== ctx.state.lastIndex || this.#settings !== ctx.settings || this.#entries.size >= CACHE_MAX_ENTRIES) {
      this.#entries.clear();
      this.#index = ctx.state.lastIndex;
      this.#settings = ctx.settings;
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = compute();
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

export interface Answered {
  kind: "answer";
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /**
   * Set when the records depend on nothing but this (lower-cased) service name's instances,
   * their nodes and checks, and the settings: the reply may then be reused until that name's
   * modify index moves. Never set on answers carrying a clock-dependent SOA or a CNAME chain.
   */
  cacheableService?: string;
}

/** Not ours to answer: the server forwards to recursors, or replies `fallback` without any. */
export interface Forward {
  kind: "forward";
  fallback: Rcode;
}

/** A name of another datacenter: fetch `lookup` from `datacenter`, then resolve again over those rows. */
export interface Remote {
  kind: "remote";
  datacenter: string;
  lookup: RemoteLookup;
}

/** An answer that needs a round trip first (prepared queries run on a server). */
export interface Deferred {
  kind: "deferred";
  answer: Promise<Answered>;
}

export type Resolution = Answered | Forward | Remote | Deferred;

/** Internal CNAME targets inside the zone are followed at most this deep. */
const MAX_CNAME_DEPTH = 3;
/** NS answers name at most this many servers. */
const MAX_NS_RECORDS = 3;

export function resolveQuestion(q: DnsQuestion, ctx: ResolverContext): Resolution {
  return resolveAtDepth(q, ctx, 0);
}

function resolveAtDepth(q: DnsQuestion, ctx: ResolverContext, depth: number): Resolution {
  const lower = q.name === "." ? "" : q.name.toLowerCase().replace(/\.$/, "");
  const zone = matchZone(lower, [ctx.settings.domain, ctx.settings.altDomain]);
  if (zone.zone === "outside") return { kind: "forward", fallback: "REFUSED" };
  if (zone.zone === "arpa") return resolvePtr(q, lower, ctx);
  const lookup = new Lookup(q, zone.domain, ctx, depth);
  switch (q.type) {
    case "SOA":
      return lookup.soa();
    case "NS":
      return lookup.ns();
    case "AXFR":
      return answer("NOTIMP");
  }
  const parsed = parseQueryName(zone.labels, q.type === "SRV");
  if (!parsed) return lookup.nxdomain();
  return lookup.dispatch(parsed);
}

function answer(rcode: Rcode, answers: Answer[] = [], authorities: Answer[] = [], additionals: Answer[] = []): Answered {
  return { kind: "answer", rcode, answers, authorities, additionals };
}

/** One question inside the Consul zone; `domain` is the zone it was asked under. */
class Lookup {
  readonly q: DnsQuestion;
  readonly domain: string;
  readonly ctx: ResolverContext;
  readonly settings: DnsSettings;
  readonly depth: number;

  constructor(q: DnsQuestion, domain: string, ctx: ResolverContext, depth: number) {
    this.q = q;
    this.domain = domain;
    this.ctx = ctx;
    this.settings = ctx.settings;
    this.depth = depth;
  }

  dispatch(p: ParsedQueryName): Answered | Remote | Deferred {
    if (p.kind === "query") return this.preparedQuery(p.parts, p.locality);
    const remote = this.remoteLookup(p);
    if (remote) return remote;
    if (!this.localityIsLocal(p.kind, p.locality)) return this.nxdomain();
    switch (p.kind) {
      case "service":
        return this.service(p.parts);
      case "connect":
        return p.parts.length === 1 ? this.serviceLike("connect", p.parts[0], undefined, () => this.ctx.state.catalog.connectInstances(p.parts[0])) : this.nxdomain();
      case "node":
        return this.node(p.parts.join("."));
      case "addr":
        return this.addr(p.parts);
      case "virtual":
        return p.parts.length === 1 ? this.virtual(p.parts[0], p.locality) : this.nxdomain();
      case "ingress": {
        const entries = this.ctx.state.configEntries;
        if (p.parts.length !== 1 || !entries) return this.nxdomain();
        const state = { catalog: this.ctx.state.catalog, configEntries: entries };
        return this.serviceLike("ingress", p.parts[0], undefined, () => ingressGatewayInstances(state, p.parts[0]));
      }
      // .query names are answered by preparedQuery before this switch.
    }
  }

  /**
   * `<svc>.service.<dc>` and `<node>.node.<dc>` of another datacenter (no peer, partition or
   * namespace other than the default). `<q>.query.<dc>` is preparedQuery's.
   */
  remoteLookup(p: ParsedQueryName): Remote | undefined {
    const l = p.locality;
    if (!this.ctx.remoteDatacenters || l.datacenter === undefined || l.datacenter === this.settings.datacenter.toLowerCase()) return undefined;
    if (l.peer !== undefined || l.samenessGroup !== undefined) return undefined;
    if ((l.namespace !== undefined && l.namespace !== "default") || (l.partition !== undefined && l.partition !== "default")) return undefined;
    if (p.kind === "service") {
      const name = serviceQueryOf(p.parts).name;
      return name === "" ? undefined : { kind: "remote", datacenter: l.datacenter, lookup: { kind: "service", name } };
    }
    if (p.kind === "node") return { kind: "remote", datacenter: l.datacenter, lookup: { kind: "node", name: p.parts.join(".") } };
    return undefined;
  }

  /**
   * `<name>.query[.<dc>].<domain>` and `_<name>._<proto>.query…` (spec/dns.md, multi-dc.md §6):
   * executed on a server (with failover), answered like a service with the query's DNS TTL and
   * node names in the datacenter that answered. Nothing found or unknown query: NXDOMAIN.
   */
  preparedQuery(parts: string[], locality: Locality): Answered | Deferred {
    const run = this.ctx.executeQuery;
    if (!run || locality.peer !== undefined || locality.samenessGroup !== undefined) return this.nxdomain();
    if ((locality.namespace ?? "default") !== "default" || (locality.partition ?? "default") !== "default") return this.nxdomain();
    const name = parts.length === 2 && parts[0].startsWith("_") && parts[1].startsWith("_") ? parts[0].slice(1) : parts.join(".");
    const dc = locality.datacenter !== undefined && locality.datacenter !== this.settings.datacenter.toLowerCase() ? locality.datacenter : undefined;
    const answer = run(name, dc, this.ctx.sourceIp ?? "").then((r): Answered => {
      if (r.status === "not-found") return this.nxdomain();
      if (r.status === "error") return { kind: "answer", rcode: "SERVFAIL", answers: [], authorities: [], additionals: [] };
      const healthy: HealthyInstance[] = [];
      for (const n of r.nodes) {
        const status = dnsVisibleStatus(n.checks, false);
        if (status !== undefined) healthy.push({ node: n.node, service: n.service, status });
      }
      if (healthy.length === 0) return this.nxdomain();
      let ttlMs = serviceTtlMs(this.settings.serviceTtlMs, r.service);
      if (r.ttl !== "") {
        try {
          ttlMs = parseGoDuration(r.ttl);
        } catch {
          ttlMs = 0;
        }
      }
      // Records name nodes in the datacenter that answered (a failover answer is remote).
      const lookup = r.datacenter === this.settings.datacenter ? this : new Lookup(this.q, this.domain, { ...this.ctx, settings: { ...this.settings, datacenter: r.datacenter } }, this.depth);
      const ttl = ttlSeconds(ttlMs);
      if (this.q.type === "SRV") return lookup.srvAnswer(lookup.srvMaterial(healthy, ttl), ttl);
      return lookup.addressAnswer(healthy, ttl);
    });
    return { kind: "deferred", answer };
  }

  localityIsLocal(kind: ParsedQueryName["kind"], l: Locality): boolean {
    // For .virtual the legacy single label names a peer, and peers are not local.
    if (l.datacenter !== undefined && l.datacenter !== this.settings.datacenter.toLowerCase()) return false;
    if (l.peer !== undefined || l.samenessGroup !== undefined) return false;
    if (l.namespace !== undefined && l.namespace !== "default") return false;
    if (l.partition !== undefined && l.partition !== "default") return false;
    return kind !== "virtual" || l.datacenter === undefined || l.datacenter === this.settings.datacenter.toLowerCase();
  }

  // ---- negative answers

  soaRecord(): Answer {
    return soaRecord(this.domain, this.settings, this.ctx.nowMs);
  }

  nxdomain(): Answered {
    return answer("NXDOMAIN", [], [this.soaRecord()]);
  }

  nodata(): Answered {
    return answer("NOERROR", [], [this.soaRecord()]);
  }

  // ---- zone apex records

  soa(): Answered {
    const { ns, glue } = this.nameServers();
    return answer("NOERROR", [this.soaRecord()], ns, glue);
  }

  ns(): Answered {
    const { ns, glue } = this.nameServers();
    return answer("NOERROR", ns, [], glue);
  }

  nameServers(): { ns: Answer[]; glue: Answer[] } {
    const servers = filterHealthy(this.ctx.state.catalog, visibleInstances(this.ctx, this.ctx.state.catalog.serviceInstances("consul")), this.settings.onlyPassing);
    shuffleInPlace(servers, this.ctx.random);
    const ttl = ttlSeconds(this.settings.nodeTtlMs);
    const ns: Answer[] = [];
    const glue: Answer[] = [];
    for (const s of servers) {
      if (ns.length >= MAX_NS_RECORDS) break;
      const address = s.service.Address || s.node.Address;
      const family = ipFamily(address);
      // A node name that is no valid DNS label cannot be a name server target.
      if (family === 0 || !/^[a-z0-9_-]+$/i.test(s.node.Node)) continue;
      const target = this.nodeName(s.node);
      ns.push(nsRecord(this.domain, target, ttl));
      glue.push(addressRecord(target, address, family, ttl));
    }
    return { ns, glue };
  }

  // ---- names

  nodeName(node: Node): string {
    return `${node.Node.toLowerCase()}.node.${this.settings.datacenter.toLowerCase()}.${this.domain}`;
  }

  addrName(ip: string, family: 4 | 6): string {
    return `${encodeAddrLabel(ip, family)}.addr.${this.settings.datacenter.toLowerCase()}.${this.domain}`;
  }

  // ---- service-like lookups

  service(parts: string[]): Answered {
    const { name, tag } = serviceQueryOf(parts);
    if (name === "") return this.nxdomain();
    return this.serviceLike("service", name, tag, () => serviceInstances(this.ctx.state.catalog, name, tag));
  }

  serviceLike(kind: string, name: string, tag: string | undefined, candidates: () => ServiceInstance[]): Answered {
    const compute = (): ServiceMaterial => ({
      healthy: filterHealthy(this.ctx.state.catalog, visibleInstances(this.ctx, candidates()), this.settings.onlyPassing),
      ttl: ttlSeconds(serviceTtlMs(this.settings.serviceTtlMs, name)),
    });
    const key = `${this.ctx.authz?.accessorId ?? ""}|${this.domain}|${kind}|${name}|${tag ?? ""}`;
    const material = this.ctx.cache ? this.ctx.cache.lookup(this.ctx, key, compute) : compute();
    if (material.healthy.length === 0) return this.nxdomain();
    let result: Answered;
    if (this.q.type === "SRV") {
      material.srv ??= this.srvMaterial(material.healthy, material.ttl);
      result = this.srvAnswer(material.srv, material.ttl);
    } else {
      result = this.addressAnswer(shuffleInPlace([...material.healthy], this.ctx.random), material.ttl);
    }
    // Connect lookups scan the whole services table, so only plain service names qualify.
    if (kind === "service" && result.rcode === "NOERROR" && result.authorities.length === 0 && result.answers.length > 0) {
      const viaHostname = result.answers.some((a) => a.type === "CNAME") || (this.q.type === "SRV" && (material.srv ?? []).some((m) => m?.viaHostname === true));
      if (!viaHostname) result.cacheableService = name.toLowerCase();
    }
    return result;
  }

  addressAnswer(instances: HealthyInstance[], ttl: number): Answered {
    const type = this.q.type;
    const wantV4 = type === "A" || type === "ANY";
    const wantV6 = type === "AAAA" || type === "ANY";
    if (!wantV4 && !wantV6) return this.nodata();
    const answers: Answer[] = [];
    const seen = new Set<string>();
    let firstHostname: Answer[] | undefined;
    let contributing = 0;
    const limit = this.settings.aRecordLimit;
    for (const { node, service } of instances) {
      if (limit > 0 && contributing >= limit) break;
      const address = service.Address || node.Address;
      const family = ipFamily(address);
      if (family === 0) {
        firstHostname ??= this.cnameChain(this.q.name, address, ttl);
        continue;
      }
      if ((family === 4 && !wantV4) || (family === 6 && !wantV6)) continue;
      // Same owner, type and TTL for every record here: the address alone identifies a duplicate.
      if (seen.has(address)) continue;
      seen.add(address);
      answers.push(addressRecord(this.q.name, address, family, ttl));
      contributing++;
    }
    // Hostname instances count only when no instance had an IP (Consul's rule).
    if (answers.length === 0 && firstHostname) return answer("NOERROR", firstHostname);
    return answers.length === 0 ? this.nodata() : answer("NOERROR", answers);
  }

  /** Targets, weights and additional records per instance, in catalog order (before shuffling). */
  srvMaterial(instances: HealthyInstance[], ttl: number): (SrvMaterial | undefined)[] {
    const seen = new Set<string>();
    return instances.map(({ node, service, status }) => {
      const address = service.Address || node.Address;
      const dedupeKey = `${node.Node}|${address}|${service.Port}`;
      if (seen.has(dedupeKey)) return undefined;
      seen.add(dedupeKey);
      const family = ipFamily(address);
      let target: string;
      const extras: Answer[] = [];
      if (family === 0) {
        target = address.replace(/\.$/, "");
        extras.push(...this.cnameChain(target, target, ttl).slice(1));
      } else {
        target = service.Address === "" ? this.nodeName(node) : this.addrName(address, family);
        extras.push(addressRecord(target, address, family, ttl));
      }
      if (this.settings.enableAdditionalNodeMetaTxt) {
        for (const text of nodeMetaTexts(node.Meta)) extras.push(txtRecord(this.nodeName(node), text, ttl));
      }
      return { target, port: service.Port, weight: srvWeight(service, status), extras, extraKeys: extras.map(recordKey), viaHostname: family === 0 };
    });
  }

  srvAnswer(material: (SrvMaterial | undefined)[], ttl: number): Answered {
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    const seenExtra = new Set<string>();
    for (const m of shuffleInPlace(material.filter((x) => x !== undefined), this.ctx.random)) {
      answers.push(srvRecord(this.q.name, m.target, m.port, m.weight, ttl));
      for (let i = 0; i < m.extras.length; i++) {
        const key = m.extraKeys[i];
        if (seenExtra.has(key)) continue;
        seenExtra.add(key);
        additionals.push(m.extras[i]);
      }
    }
    return answer("NOERROR", answers, [], additionals);
  }

  /** `owner CNAME hostname`, then what the hostname resolves to when it lies inside our zone. */
  cnameChain(owner: string, hostname: string, ttl: number): Answer[] {
    const target = hostname.replace(/\.$/, "");
    const out: Answer[] = [cnameRecord(owner, target, ttl)];
    if (this.depth >= MAX_CNAME_DEPTH) return out;
    const type = this.q.type === "SRV" || this.q.type === "ANY" ? "A" : this.q.type;
    const inner = resolveAtDepth({ name: target, type }, this.ctx, this.depth + 1);
    if (inner.kind === "answer" && inner.rcode === "NOERROR") out.push(...inner.answers);
    return out;
  }

  // ---- node, addr, virtual

  node(name: string): Answered {
    const node = this.ctx.state.catalog.getNode(name);
    if (!node || (this.ctx.authz && !this.ctx.authz.allowed("node:read", node.Node))) return this.nxdomain();
    const ttl = ttlSeconds(this.settings.nodeTtlMs);
    const type = this.q.type;
    const meta = nodeMetaTexts(node.Meta).map((t) => txtRecord(this.q.name, t, ttl));
    if (type === "TXT") return meta.length ? answer("NOERROR", meta) : this.nodata();
    const addressRecords: Answer[] = [];
    const family = ipFamily(node.Address);
    if (family === 0) {
      if (type === "A" || type === "AAAA" || type === "ANY") addressRecords.push(...this.cnameChain(this.q.name, node.Address, ttl));
    } else if ((family === 4 && (type === "A" || type === "ANY")) || (family === 6 && (type === "AAAA" || type === "ANY"))) {
      addressRecords.push(addressRecord(this.q.name, node.Address, family, ttl));
    }
    if (type === "ANY") return answer("NOERROR", [...addressRecords, ...meta]);
    if (addressRecords.length === 0) return this.nodata();
    return answer("NOERROR", addressRecords, [], this.settings.enableAdditionalNodeMetaTxt ? meta : []);
  }

  addr(parts: string[]): Answered {
    if (parts.length !== 1) return this.nxdomain();
    const decoded = decodeAddrLabel(parts[0]);
    if (decoded === "invalid") return this.nxdomain();
    if (decoded === "other") return answer("NOERROR");
    const rec = addressRecord(this.q.name, decoded.ip, decoded.family, ttlSeconds(this.settings.nodeTtlMs));
    const type = this.q.type;
    const matches = type === "ANY" || (decoded.family === 4 ? type === "A" : type === "AAAA");
    return matches ? answer("NOERROR", [rec]) : answer("NOERROR", [], [], [rec]);
  }

  virtual(name: string, locality: Locality): Answered {
    if (locality.datacenter !== undefined) return this.nodata();
    for (const { service } of visibleInstances(this.ctx, this.ctx.state.catalog.serviceInstances(name))) {
      const vip = service.TaggedAddresses?.["consul-virtual"]?.Address;
      const family = vip ? ipFamily(vip) : 0;
      if (vip && family !== 0) {
        if ((family === 4 && this.q.type !== "A" && this.q.type !== "ANY") || (family === 6 && this.q.type !== "AAAA" && this.q.type !== "ANY")) {
          return this.nodata();
        }
        return answer("NOERROR", [addressRecord(this.q.name, vip, family, ttlSeconds(this.settings.nodeTtlMs))]);
      }
    }
    return answer("NOERROR");
  }
}

/** The service name and tag filter of a `.service` name's labels (`[tag.]name`, or RFC 2782 `_name._tag`). */
function serviceQueryOf(parts: string[]): { name: string; tag: string | undefined } {
  if (parts.length === 2 && parts[0].startsWith("_") && parts[1].startsWith("_")) {
    // RFC 2782: _<service>._<tag>; the protocol label `tcp` means no tag filter.
    return { name: parts[0].slice(1), tag: parts[1] === "_tcp" ? undefined : parts[1].slice(1) };
  }
  return { name: parts[parts.length - 1], tag: parts.length > 1 ? parts.slice(0, -1).join(".") : undefined };
}

function srvWeight(service: NodeService, status: HealthyInstance["status"]): number {
  const w = status === "passing" ? service.Weights?.Passing : service.Weights?.Warning;
  return typeof w === "number" && w >= 0 ? Math.min(w, 65535) : 1;
}

/** Exact service name first, then the longest matching `prefix*` key (`*` alone matches all). */
export function serviceTtlMs(ttls: Record<string, number>, service: string): number {
  const name = service.toLowerCase();
  let best: number | undefined;
  let bestLen = -1;
  for (const [key, ms] of Object.entries(ttls)) {
    const k = key.toLowerCase();
    if (k === name) return ms;
    if (k.endsWith("*")) {
      const prefix = k.slice(0, -1);
      if (name.startsWith(prefix) && prefix.length > bestLen) {
        best = ms;
        bestLen = prefix.length;
      }
    }
  }
  return best ?? 0;
}

// ---- PTR

function resolvePtr(q: DnsQuestion, lowerName: string, ctx: ResolverContext): Resolution {
  const { settings, state } = ctx;
  const dc = settings.datacenter.toLowerCase();
  const reverseOf = (address: string): string | undefined => {
    const family = ipFamily(address);
    return family === 0 ? undefined : reverseName(address, family);
  };
  const soa = q.type === "SOA" ? [soaRecord(settings.domain, settings, ctx.nowMs)] : [];
  for (const node of state.catalog.listNodes()) {
    if (ctx.authz && !ctx.authz.allowed("node:read", node.Node)) continue;
    if (reverseOf(node.Address) === lowerName) {
      return answer("NOERROR", [ptrRecord(q.name, `${node.Node.toLowerCase()}.node.${dc}.${settings.domain}`)], soa);
    }
  }
  const answers: Answer[] = [];
  const seen = new Set<string>();
  for (const { service } of visibleInstances(ctx, state.catalog.allInstances())) {
    if (service.Address === "" || reverseOf(service.Address) !== lowerName) continue;
    const target = `${service.Service.toLowerCase()}.service.${dc}.${settings.domain}`;
    if (seen.has(target)) continue;
    seen.add(target);
    answers.push(ptrRecord(q.name, target));
  }
  if (answers.length > 0) return answer("NOERROR", answers, soa);
  return { kind: "forward", fallback: "SERVFAIL" };
}
