import type { ConfigEntry, ConfigEntryFields } from "../model/config-entry.ts";
import { PROXY_DEFAULTS, SERVICE_DEFAULTS } from "./config-entry-decode.ts";
import { INGRESS_GATEWAY, SERVICE_RESOLVER, SERVICE_ROUTER, SERVICE_SPLITTER } from "./config-entry-kinds.ts";
import { ChainGraphError, validateServiceGraph, type GraphEntries } from "./discovery-chain.ts";

// Consul's validateProposedConfigEntryInGraph: a config entry write (or delete) is checked
// against the entries it would sit among, in the state machine, so that two writes each valid
// alone cannot both land when together they break a discovery chain.

/** Kinds whose change can break a discovery chain or an ingress listener's protocol. */
const GRAPH_KINDS = new Set([SERVICE_DEFAULTS, PROXY_DEFAULTS, SERVICE_RESOLVER, SERVICE_SPLITTER, SERVICE_ROUTER, INGRESS_GATEWAY]);

/**
 * Consul compiles the speculative chains as if in "dc1" with a throwaway trust domain (its
 * testCompileDiscoveryChain): neither changes whether a graph is valid, and a fixed value keeps
 * the check the same on every server.
 */
const EVALUATE_IN_DATACENTER = "dc1";

/** What the check reads of the stored entries. */
export interface ConfigEntryReader {
  get(kind: string, name: string): ConfigEntry | undefined;
  list(kind: string): ConfigEntry[];
}

export interface ProposedChange {
  put?: ConfigEntryFields;
  drop?: { kind: string; name: string };
}

/** The stored entries as they would be after writing `put` (or deleting `drop`). */
export function graphEntries(stored: ConfigEntryReader, change: ProposedChange): GraphEntries {
  const replaced = (kind: string, name: string): boolean =>
    (change.put?.Kind === kind && change.put.Name === name) || (change.drop?.kind === kind && change.drop.name === name);
  return {
    get(kind, name) {
      if (change.put?.Kind === kind && change.put.Name === name) return change.put;
      if (replaced(kind, name)) return undefined;
      return stored.get(kind, name);
    },
    list(kind) {
      const rows: Record<string, unknown>[] = stored.list(kind).filter((e) => !replaced(e.Kind, e.Name));
      if (change.put?.Kind === kind) rows.push(change.put);
      return rows;
    },
  };
}

/** Why the change would leave an invalid service graph (Consul's ConfigEntryGraphError), or undefined. */
export function proposedGraphError(stored: ConfigEntryReader, change: ProposedChange): string | undefined {
  const kind = change.put?.Kind ?? change.drop?.kind ?? "";
  if (!GRAPH_KINDS.has(kind)) return undefined;
  try {
    validateServiceGraph(graphEntries(stored, change), EVALUATE_IN_DATACENTER);
    return undefined;
  } catch (err) {
    if (err instanceof ChainGraphError) return err.message;
    throw err;
  }
}
