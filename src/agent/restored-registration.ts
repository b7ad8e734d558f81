import type { ServiceFields } from "../fsm/command.ts";
import { isObject } from "../decode/json-body.ts";
import type { ServiceAddress, Weights } from "../model/catalog.ts";

// A persisted service file holds a NodeService as JSON — written by us or by Consul (whose
// rows carry more fields). This picks the fields the agent keeps, with the defaults a fresh
// registration gets, and ignores the rest.

const text = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

function taggedAddresses(v: unknown): Record<string, ServiceAddress> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, ServiceAddress> = {};
  for (const [k, x] of Object.entries(v)) if (isObject(x)) out[k] = { Address: text(x.Address), Port: num(x.Port) };
  return Object.keys(out).length > 0 ? out : undefined;
}

function weights(v: unknown): Weights {
  return isObject(v) && num(v.Passing) > 0 ? { Passing: num(v.Passing), Warning: num(v.Warning) } : { Passing: 1, Warning: 1 };
}

/** The service row of a persisted registration, or undefined when it names no service. */
export function restoredServiceRow(raw: Record<string, unknown>): ServiceFields | undefined {
  const name = text(raw.Service);
  const id = text(raw.ID) || name;
  if (id === "" || name === "") return undefined;
  const proxy = isObject(raw.Proxy) ? { MeshGateway: {}, Expose: {}, ...raw.Proxy } : { MeshGateway: {}, Expose: {} };
  const row: ServiceFields = {
    ID: id,
    Service: name,
    Tags: strings(raw.Tags),
    Address: text(raw.Address),
    Meta: stringMap(raw.Meta),
    Port: num(raw.Port),
    Weights: weights(raw.Weights),
    EnableTagOverride: raw.EnableTagOverride === true,
    Proxy: proxy,
    Connect: isObject(raw.Connect) ? { ...raw.Connect } : {},
    PeerName: "",
  };
  const kind = text(raw.Kind);
  if (kind !== "") row.Kind = kind;
  const tagged = taggedAddresses(raw.TaggedAddresses);
  if (tagged) row.TaggedAddresses = tagged;
  const socketPath = text(raw.SocketPath);
  if (socketPath !== "") row.SocketPath = socketPath;
  return row;
}
