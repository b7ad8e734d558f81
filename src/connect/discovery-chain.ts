import { formatGoDuration, parseGoDuration } from "../model/duration.ts";
import { arr, isObj, s, strs, sub, type Raw } from "./config-entry-shape.ts";
import { SERVICE_RESOLVER, SERVICE_ROUTER, SERVICE_SPLITTER } from "./config-entry-kinds.ts";

// The compiled discovery chain (Consul's agent/consul/discoverychain/compile.go): a graph of
// router, splitter and resolver nodes built from service-router, service-splitter and
// service-resolver entries, and the targets (service, subset, datacenter) it resolves to.
// Namespaces and partitions are always "default" here (CE).

/** Raised when entries form an invalid graph (Consul's ConfigEntryGraphError: HTTP 500 on write). */
export class ChainGraphError extends Error {}

export interface ChainEntries {
  get(kind: string, name: string): Raw | undefined;
}

export interface CompileRequest {
  serviceName: string;
  datacenter: string;
  trustDomain: string;
  entries: ChainEntries;
  overrideProtocol?: string;
  overrideConnectTimeoutMs?: number;
  overrideMeshGatewayMode?: string;
}

export interface DiscoveryTarget {
  ConnectTimeout?: string;
  ID: string;
  Service: string;
  ServiceSubset?: string;
  Namespace: string;
  Partition: string;
  Datacenter: string;
  MeshGateway: { Mode?: string };
  Subset: Raw;
  TransparentProxy: { DialedDirectly?: boolean };
  SNI: string;
  Name: string;
}

export interface DiscoveryNode {
  Type: "router" | "splitter" | "resolver";
  Name: string;
  Routes?: { Definition: Raw; NextNode: string }[];
  Splits?: { Definition: Raw; Weight: number; NextNode: string }[];
  Resolver?: { ConnectTimeout?: string; Default?: boolean; RequestTimeout?: number; Target: string; Failover?: { Targets: string[] } };
  LoadBalancer?: Raw;
}

export interface CompiledChain {
  ServiceName: string;
  Namespace: string;
  Partition: string;
  Datacenter: string;
  CustomizationHash?: string;
  Default?: boolean;
  Protocol: string;
  ServiceMeta?: Record<string, string>;
  StartNode: string;
  Nodes: Record<string, DiscoveryNode>;
  Targets: Record<string, DiscoveryTarget>;
}

const DEFAULT_NS = "default";
const HTTP_LIKE = new Set(["http", "http2", "grpc"]);

interface TargetOpts {
  service: string;
  subset?: string;
  datacenter?: string;
}

const mapKey = (node: DiscoveryNode): string => `${node.Type}:${node.Name}`;
const serviceIdString = (name: string): string => `${name}.${DEFAULT_NS}.${DEFAULT_NS}`;

export function protocolOfService(entries: ChainEntries, service: string): string {
  const sd = entries.get("service-defaults", service);
  if (sd && s(sd, "Protocol") !== "") return s(sd, "Protocol").toLowerCase();
  const config = sub(entries.get("proxy-defaults", "global"), "Config");
  if (config && typeof config.protocol === "string" && config.protocol !== "") return config.protocol.toLowerCase();
  return "tcp";
}

class Compiler {
  readonly req: CompileRequest;
  readonly nodes = new Map<string, DiscoveryNode>();
  readonly splitterNodes = new Map<string, DiscoveryNode>();
  readonly resolveNodes = new Map<string, DiscoveryNode>();
  readonly loadedTargets = new Map<string, DiscoveryTarget>();
  readonly retainedTargets = new Set<string>();
  protocol = "";
  usesAdvancedRouting = false;
  readonly disableAdvancedRouting: boolean;
  readonly customized = { protocol: false, connectTimeout: false, meshGateway: false };
  startNode = "";

  constructor(req: CompileRequest) {
    this.req = req;
    this.disableAdvancedRouting = req.overrideProtocol !== undefined && req.overrideProtocol !== "" && !HTTP_LIKE.has(req.overrideProtocol);
  }

  recordProtocol(service: string): void {
    const protocol = protocolOfService(this.req.entries, service);
    if (this.protocol === "") this.protocol = protocol;
    else if (this.protocol !== protocol) {
      throw new ChainGraphError(`discovery chain ${JSON.stringify(this.req.serviceName)} uses inconsistent protocols; service ${JSON.stringify(`${service}`)} has ${JSON.stringify(protocol)} which is not ${JSON.stringify(this.protocol)}`);
    }
  }

  newTarget(opts: TargetOpts): DiscoveryTarget {
    const dc = opts.datacenter || this.req.datacenter;
    const subset = opts.subset ?? "";
    const id = subset === "" ? `${opts.service}.${DEFAULT_NS}.${DEFAULT_NS}.${dc}` : `${subset}.${opts.service}.${DEFAULT_NS}.${DEFAULT_NS}.${dc}`;
    const prev = this.loadedTargets.get(id);
    if (prev) return prev;
    const sni = [...(subset === "" ? [] : [subset]), opts.service, DEFAULT_NS, dc, "internal", this.req.trustDomain].join(".");
    const t: DiscoveryTarget = {
      ID: id,
      Service: opts.service,
      ...(subset === "" ? {} : { ServiceSubset: subset }),
      Namespace: DEFAULT_NS,
      Partition: DEFAULT_NS,
      Datacenter: dc,
      MeshGateway: {},
      Subset: {},
      TransparentProxy: {},
      SNI: sni,
      Name: sni,
    };
    this.loadedTargets.set(id, t);
    return t;
  }

  /** Consul's rewriteTarget: another service resets the subset. */
  rewriteTarget(t: DiscoveryTarget, opts: { service?: string; subset?: string; datacenter?: string }): DiscoveryTarget {
    let service = t.Service;
    let subset = t.ServiceSubset ?? "";
    if (opts.service && opts.service !== service) {
      service = opts.service;
      subset = "";
    }
    if (opts.subset) subset = opts.subset;
    return this.newTarget({ service, subset, datacenter: opts.datacenter || t.Datacenter });
  }

  resolverOf(service: string): Raw {
    return this.req.entries.get(SERVICE_RESOLVER, service) ?? { Kind: SERVICE_RESOLVER, Name: service };
  }

  assemble(): void {
    const name = this.req.serviceName;
    let router = this.req.entries.get(SERVICE_ROUTER, name);
    if (router && this.disableAdvancedRouting) {
      router = undefined;
      this.customized.protocol = true;
    }
    if (!router) {
      this.startNode = mapKey(this.splitterOrResolver(this.newTarget({ service: name })));
      return;
    }
    const routeNode: DiscoveryNode = { Type: "router", Name: serviceIdString(name), Routes: [] };
    this.usesAdvancedRouting = true;
    this.recordProtocol(name);
    for (const route of arr(router, "Routes")) {
      const dest = sub(route, "Destination");
      const svc = s(dest, "Service") || name;
      const subset = s(dest, "ServiceSubset");
      const node = subset === "" ? this.splitterOrResolver(this.newTarget({ service: svc })) : this.resolverNode(this.newTarget({ service: svc, subset }), false);
      routeNode.Routes?.push({ Definition: route, NextNode: mapKey(node) });
    }
    const fallback = this.splitterOrResolver(this.newTarget({ service: name }));
    routeNode.Routes?.push({
      Definition: { Match: { HTTP: { PathPrefix: "/" } }, Destination: { Service: name, Namespace: DEFAULT_NS, Partition: DEFAULT_NS } },
      NextNode: mapKey(fallback),
    });
    this.startNode = mapKey(routeNode);
    this.nodes.set(mapKey(routeNode), routeNode);
  }

  splitterOrResolver(t: DiscoveryTarget): DiscoveryNode {
    return this.splitterNode(t.Service) ?? this.resolverNode(t, false);
  }

  splitterNode(service: string): DiscoveryNode | undefined {
    const name = serviceIdString(service);
    const prev = this.splitterNodes.get(name);
    if (prev) return prev;
    let splitter = this.req.entries.get(SERVICE_SPLITTER, service);
    if (splitter && this.disableAdvancedRouting) {
      splitter = undefined;
      this.customized.protocol = true;
    }
    if (!splitter) return undefined;
    const node: DiscoveryNode = { Type: "splitter", Name: name, Splits: [] };
    this.splitterNodes.set(name, node);
    this.nodes.set(mapKey(node), node);
    for (const split of arr(splitter, "Splits")) {
      const weight = typeof split.Weight === "number" ? split.Weight : 0;
      const svc = s(split, "Service") || service;
      const subset = s(split, "ServiceSubset");
      const compiled = { Definition: split, Weight: weight, NextNode: "" };
      node.Splits?.push(compiled);
      if (svc !== service && subset === "") {
        const next = this.splitterNode(svc);
        if (next) {
          compiled.NextNode = mapKey(next);
          continue;
        }
      }
      const resolved = this.resolverNode(this.newTarget({ service: svc, subset }), false);
      compiled.NextNode = mapKey(resolved);
      if (!node.LoadBalancer && resolved.LoadBalancer && ["ring_hash", "maglev"].includes(s(resolved.LoadBalancer, "Policy"))) node.LoadBalancer = resolved.LoadBalancer;
    }
    this.usesAdvancedRouting = true;
    return node;
  }

  resolverNode(start: DiscoveryTarget, forFailover: boolean): DiscoveryNode {
    let target = start;
    const history = new Set<string>();
    const order: string[] = [];
    let resolver: Raw;
    for (;;) {
      const prev = this.resolveNodes.get(target.ID);
      if (prev) return prev;
      this.recordProtocol(target.Service);
      resolver = this.resolverOf(target.Service);
      if (history.has(target.ID)) {
        order.push(target.ID);
        throw new ChainGraphError(`detected circular resolver redirect: [${order.join(" -> ")}]`);
      }
      history.add(target.ID);
      order.push(target.ID);
      const redirect = sub(resolver, "Redirect");
      if (redirect) {
        const next = this.rewriteTarget(target, { service: s(redirect, "Service"), subset: s(redirect, "ServiceSubset"), datacenter: s(redirect, "Datacenter") });
        if (next.ID !== target.ID) {
          target = next;
          continue;
        }
      }
      const defaultSubset = s(resolver, "DefaultSubset");
      if ((target.ServiceSubset ?? "") === "" && defaultSubset !== "") {
        target = this.rewriteTarget(target, { subset: defaultSubset });
        continue;
      }
      break;
    }
    const subsets = sub(resolver, "Subsets") ?? {};
    const subset = target.ServiceSubset ?? "";
    if (subset !== "" && !Object.hasOwn(subsets, subset)) {
      throw new ChainGraphError(`service ${JSON.stringify(target.Service)} does not have a subset named ${JSON.stringify(subset)}`);
    }
    let timeoutMs = s(resolver, "ConnectTimeout") === "" ? 0 : parseGoDuration(s(resolver, "ConnectTimeout"));
    if (timeoutMs < 1) timeoutMs = 5000;
    const override = this.req.overrideConnectTimeoutMs ?? 0;
    if (override > 0 && override !== timeoutMs) {
      timeoutMs = override;
      this.customized.connectTimeout = true;
    }
    target.ConnectTimeout = formatGoDuration(timeoutMs);
    const isDefault = Object.keys(resolver).every((k) => k === "Kind" || k === "Name");
    const requestTimeout = s(resolver, "RequestTimeout") === "" ? 0 : parseGoDuration(s(resolver, "RequestTimeout"));
    const node: DiscoveryNode = {
      Type: "resolver",
      Name: target.ID,
      Resolver: {
        ConnectTimeout: formatGoDuration(timeoutMs),
        ...(isDefault ? { Default: true } : {}),
        ...(requestTimeout > 0 ? { RequestTimeout: Math.round(requestTimeout * 1e6) } : {}),
        Target: target.ID,
      },
      ...(sub(resolver, "LoadBalancer") ? { LoadBalancer: sub(resolver, "LoadBalancer") } : {}),
    };
    const subsetDef = subsets[subset];
    target.Subset = subset !== "" && isObj(subsetDef) ? subsetDef : {};
    this.applyDefaults(target);
    this.retainedTargets.add(target.ID);
    if (forFailover) return node;
    this.resolveNodes.set(target.ID, node);
    this.nodes.set(mapKey(node), node);
    const failovers = sub(resolver, "Failover");
    if (failovers) {
      const f = sub(failovers, subset) ?? sub(failovers, "*");
      if (!f) return node;
      const next: DiscoveryTarget[] = [];
      const push = (t: DiscoveryTarget): void => {
        if (t.ID !== target.ID) next.push(t);
      };
      const dcs = strs(f, "Datacenters");
      const targets = arr(f, "Targets");
      if (dcs.length > 0) for (const dc of dcs) push(this.rewriteTarget(target, { service: s(f, "Service"), subset: s(f, "ServiceSubset"), datacenter: dc }));
      else if (targets.length > 0) for (const t of targets) push(this.rewriteTarget(target, { service: s(t, "Service"), subset: s(t, "ServiceSubset"), datacenter: s(t, "Datacenter") }));
      else push(this.rewriteTarget(target, { service: s(f, "Service"), subset: s(f, "ServiceSubset") }));
      if (next.length > 0 && node.Resolver) {
        node.Resolver.Failover = { Targets: next.map((t) => this.resolverNode(t, true).Resolver?.Target ?? t.ID) };
      }
    }
    return node;
  }

  /** Mesh gateway mode and dialed-directly from service-defaults, then proxy-defaults, then the override. */
  applyDefaults(t: DiscoveryTarget): void {
    const sd = this.req.entries.get("service-defaults", t.Service);
    const pd = this.req.entries.get("proxy-defaults", "global");
    const mode = s(sub(sd, "MeshGateway"), "Mode") || s(sub(pd, "MeshGateway"), "Mode");
    t.MeshGateway = mode === "" ? {} : { Mode: mode };
    const direct = sub(sd, "TransparentProxy")?.DialedDirectly === true || sub(pd, "TransparentProxy")?.DialedDirectly === true;
    t.TransparentProxy = direct ? { DialedDirectly: true } : {};
    const override = this.req.overrideMeshGatewayMode ?? "";
    if (override !== "" && t.MeshGateway.Mode !== override) {
      t.MeshGateway = { Mode: override };
      this.customized.meshGateway = true;
    }
  }

  detectCycles(): void {
    const walk = (key: string, path: string[]): void => {
      if (path.includes(key)) throw new ChainGraphError(`detected circular reference: [${[...path, key].join(" -> ")}]`);
      const node = this.nodes.get(key);
      const next = node?.Routes?.map((r) => r.NextNode) ?? node?.Splits?.map((x) => x.NextNode) ?? [];
      for (const k of next) walk(k, [...path, key]);
    };
    walk(this.startNode, []);
  }

  flattenSplitters(): void {
    for (let changed = true; changed; ) {
      changed = false;
      for (const node of this.nodes.values()) {
        if (node.Type !== "splitter" || !node.Splits) continue;
        if (!node.Splits.some((x) => this.nodes.get(x.NextNode)?.Type === "splitter")) continue;
        const fixed: NonNullable<DiscoveryNode["Splits"]> = [];
        for (const split of node.Splits) {
          const inner = this.nodes.get(split.NextNode);
          if (inner?.Type !== "splitter") {
            fixed.push(split);
            continue;
          }
          for (const x of inner.Splits ?? []) {
            fixed.push({ Definition: { ...split.Definition, ...x.Definition }, Weight: Math.round(((split.Weight * x.Weight) / 100) * 100) / 100, NextNode: x.NextNode });
          }
        }
        node.Splits = fixed;
        changed = true;
      }
    }
  }

  removeUnused(): void {
    const seen = new Set<string>();
    const todo = [this.startNode];
    while (todo.length > 0) {
      const key = todo.pop() as string;
      if (seen.has(key)) continue;
      seen.add(key);
      const node = this.nodes.get(key);
      for (const r of node?.Routes ?? []) todo.push(r.NextNode);
      for (const x of node?.Splits ?? []) todo.push(x.NextNode);
    }
    for (const key of [...this.nodes.keys()]) if (!seen.has(key)) this.nodes.delete(key);
  }

  compile(): CompiledChain {
    this.assemble();
    this.detectCycles();
    this.flattenSplitters();
    this.removeUnused();
    for (const id of [...this.loadedTargets.keys()]) if (!this.retainedTargets.has(id)) this.loadedTargets.delete(id);
    if (!HTTP_LIKE.has(this.protocol) && this.usesAdvancedRouting) {
      throw new ChainGraphError(`discovery chain ${JSON.stringify(this.req.serviceName)} uses a protocol ${JSON.stringify(this.protocol)} that does not permit advanced routing or splitting behavior`);
    }
    const override = this.req.overrideProtocol ?? "";
    if (override !== "" && override !== this.protocol) {
      this.protocol = override;
      this.customized.protocol = true;
    }
    const c = this.customized;
    const hash = c.protocol || c.connectTimeout || c.meshGateway ? customizationHash(this.req, c) : "";
    const start = this.nodes.get(this.startNode);
    const startTarget = start?.Resolver ? this.loadedTargets.get(start.Resolver.Target) : undefined;
    const isDefault = start?.Type === "resolver" && start.Resolver?.Default === true && startTarget?.Service === this.req.serviceName;
    const meta = this.req.entries.get("service-defaults", this.req.serviceName)?.Meta;
    return {
      ServiceName: this.req.serviceName,
      Namespace: DEFAULT_NS,
      Partition: DEFAULT_NS,
      Datacenter: this.req.datacenter,
      ...(hash === "" ? {} : { CustomizationHash: hash }),
      ...(isDefault ? { Default: true } : {}),
      Protocol: this.protocol,
      ...(isObj(meta) && Object.keys(meta).length > 0 ? { ServiceMeta: meta as Record<string, string> } : {}),
      StartNode: this.startNode,
      Nodes: sortedRecord(this.nodes),
      Targets: sortedRecord(this.loadedTargets),
    };
  }
}

function sortedRecord<T>(m: Map<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k) as T;
  return out;
}

/**
 * An 8-hex-digit digest of the overrides that changed the compilation. Consul hashes the Go
 * struct with hashstructure; clients treat the value as opaque, so ours is FNV-1a of the same inputs.
 */
function customizationHash(req: CompileRequest, c: { protocol: boolean; connectTimeout: boolean; meshGateway: boolean }): string {
  const input = JSON.stringify([c.meshGateway ? req.overrideMeshGatewayMode : "", c.protocol ? req.overrideProtocol : "", c.connectTimeout ? req.overrideConnectTimeoutMs : 0]);
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

export function compileDiscoveryChain(req: CompileRequest): CompiledChain {
  return new Compiler(req).compile();
}

export interface GraphEntries extends ChainEntries {
  list(kind: string): Raw[];
}

/**
 * Consul's validateProposedConfigEntryInServiceGraph: every chain that some resolver, splitter
 * or router takes part in must still compile, and an ingress listener's protocol must match
 * the chains it exposes. Throws ChainGraphError.
 */
export function validateServiceGraph(entries: GraphEntries, datacenter: string): void {
  const names = new Set<string>();
  for (const kind of [SERVICE_RESOLVER, SERVICE_SPLITTER, SERVICE_ROUTER]) for (const e of entries.list(kind)) names.add(s(e, "Name"));
  for (const name of names) compileDiscoveryChain({ serviceName: name, datacenter, trustDomain: "validate.consul", entries });
  for (const gw of entries.list("ingress-gateway")) {
    for (const listener of arr(gw, "Listeners")) {
      const protocol = s(listener, "Protocol") || "tcp";
      for (const svc of arr(listener, "Services")) {
        const name = s(svc, "Name");
        if (name === "*" || name === "") continue;
        const chain = compileDiscoveryChain({ serviceName: name, datacenter, trustDomain: "validate.consul", entries });
        if (chain.Protocol !== protocol) {
          throw new ChainGraphError(`service ${JSON.stringify(name)} has protocol ${JSON.stringify(chain.Protocol)}, which does not match defined listener protocol ${JSON.stringify(protocol)}`);
        }
      }
    }
  }
}
