import { MEMBER_STATUS, type LocalMember } from "./members.ts";

// Which datacenters a server knows, nearest first (Consul's Router.GetDatacentersByDistance):
// every server in the WAN pool that has not left counts for its `dc` tag; the local
// datacenter is at distance 0, another one at the median round-trip time to its servers.
// Names are sorted first and the distance sort is stable, so equal distances (every remote
// datacenter while no coordinates are known: +Inf) keep name order.

export type WanMemberView = Pick<LocalMember, "name" | "status" | "tags">;

/** Estimated round-trip time to a member in ms; +Infinity when unknown (no coordinate yet). */
export type RttEstimate = (member: WanMemberView) => number;

const UNKNOWN_RTT: RttEstimate = () => Number.POSITIVE_INFINITY;

export function datacentersByDistance(members: readonly WanMemberView[], localDatacenter: string, rtt: RttEstimate = UNKNOWN_RTT): string[] {
  const rttsByDc = new Map<string, number[]>();
  for (const m of members) {
    const dc = m.tags.dc;
    if (m.tags.role !== "consul" || dc === undefined || dc === "") continue;
    if (m.status === MEMBER_STATUS.left) continue;
    const rtts = rttsByDc.get(dc) ?? [];
    rtts.push(dc === localDatacenter ? 0 : rtt(m));
    rttsByDc.set(dc, rtts);
  }
  if (rttsByDc.size === 0) return [localDatacenter];
  const median = new Map<string, number>();
  for (const [dc, rtts] of rttsByDc) {
    rtts.sort((a, b) => a - b);
    median.set(dc, rtts[Math.floor(rtts.length / 2)]);
  }
  const names = [...median.keys()].sort(ascending);
  return names.sort((a, b) => ascending(median.get(a) ?? Infinity, median.get(b) ?? Infinity));
}

/** `<` order: for names that is Go's sort.Strings (code units, not locale); +Inf equals +Inf. */
function ascending<T extends string | number>(a: T, b: T): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
