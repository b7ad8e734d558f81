import type { ConfigEntry } from "../model/config-entry.ts";
import { WILDCARD } from "./intention-precedence.ts";

// Intentions as the legacy API and authorization see them: one per (source, destination) pair,
// derived from the sources of `service-intentions` entries (spec/connect.md §6).

export const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface Intention {
  ID: string;
  Description?: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  SourceType: string;
  Action?: string;
  Permissions?: unknown[];
  Meta?: Record<string, string>;
  Precedence: number;
  CreatedAt: string;
  UpdatedAt: string;
  Hash: null;
  CreateIndex: number;
  ModifyIndex: number;
}

type Source = Record<string, unknown>;

export function sourcesOf(entry: ConfigEntry | undefined): Source[] {
  return Array.isArray(entry?.Sources) ? (entry.Sources as Source[]) : [];
}

export function intentionOf(entry: ConfigEntry, s: Source): Intention {
  const out: Intention = {
    ID: typeof s.LegacyID === "string" ? s.LegacyID : "",
    SourceNS: "default",
    SourceName: s.Name as string,
    DestinationNS: "default",
    DestinationName: entry.Name,
    SourceType: "consul",
    Precedence: s.Precedence as number,
    CreatedAt: typeof s.LegacyCreateTime === "string" ? s.LegacyCreateTime : ZERO_TIME,
    UpdatedAt: typeof s.LegacyUpdateTime === "string" ? s.LegacyUpdateTime : ZERO_TIME,
    Hash: null,
    CreateIndex: entry.CreateIndex,
    ModifyIndex: entry.ModifyIndex,
  };
  if (typeof s.Description === "string") out.Description = s.Description;
  if (typeof s.Action === "string") out.Action = s.Action;
  if (Array.isArray(s.Permissions)) out.Permissions = s.Permissions;
  if (s.LegacyMeta && typeof s.LegacyMeta === "object") out.Meta = s.LegacyMeta as Record<string, string>;
  return out;
}

/** Highest precedence first, then by source and destination name. */
export function sortIntentions(list: Intention[]): Intention[] {
  return list.sort(
    (a, b) =>
      b.Precedence - a.Precedence ||
      (a.SourceName < b.SourceName ? -1 : a.SourceName > b.SourceName ? 1 : 0) ||
      (a.DestinationName < b.DestinationName ? -1 : a.DestinationName > b.DestinationName ? 1 : 0),
  );
}

export function allIntentions(entries: readonly ConfigEntry[]): Intention[] {
  const out: Intention[] = [];
  for (const e of entries) for (const s of sourcesOf(e)) out.push(intentionOf(e, s));
  return sortIntentions(out);
}

/** Intentions that apply to `name` as destination (or source): exact or wildcard, highest precedence first. */
export function matchIntentions(entries: readonly ConfigEntry[], by: "source" | "destination", name: string): Intention[] {
  const out: Intention[] = [];
  for (const e of entries) {
    if (by === "destination" && e.Name !== name && e.Name !== WILDCARD) continue;
    for (const s of sourcesOf(e)) {
      if (by === "source" && s.Name !== name && s.Name !== WILDCARD) continue;
      out.push(intentionOf(e, s));
    }
  }
  return sortIntentions(out);
}

/** Consul's Intention.String(): `web => db (ID: …, Precedence: 9, Action: ALLOW)`. */
export function describeIntention(i: Intention): string {
  const id = i.ID !== "" ? `ID: ${i.ID}, ` : "";
  const detail = i.Permissions && i.Permissions.length > 0 ? `Permissions: ${i.Permissions.length}` : `Action: ${(i.Action ?? "").toUpperCase()}`;
  return `${i.SourceName} => ${i.DestinationName} (${id}Precedence: ${i.Precedence}, ${detail})`;
}

export interface Decision {
  allowed: boolean;
  reason: string;
  /** The deciding intention, if one matched. */
  intention?: Intention;
}

/**
 * The first (highest-precedence) intention whose source matches decides; one with L7
 * permissions counts as deny at L4. Without a match the default applies: allow while ACLs are
 * off, otherwise the ACL default policy.
 */
export function decide(destinationMatches: readonly Intention[], source: string, acl: { enabled: boolean; defaultPolicy: "allow" | "deny" }): Decision {
  const hit = destinationMatches.find((i) => i.SourceName === source || i.SourceName === WILDCARD);
  if (hit) {
    if (hit.Permissions && hit.Permissions.length > 0) return { allowed: false, reason: `Matched L7 intention: ${describeIntention(hit)}`, intention: hit };
    return { allowed: hit.Action === "allow", reason: `Matched L4 intention: ${describeIntention(hit)}`, intention: hit };
  }
  if (!acl.enabled) return { allowed: true, reason: "ACLs disabled, access is allowed by default" };
  return { allowed: acl.defaultPolicy === "allow", reason: "Default behavior configured by ACLs" };
}
