import { estimatedRtt, isCompatible } from "../gossip/vivaldi.ts";
import type { Membership } from "./membership.ts";
import { datacentersByDistance, type RttEstimate } from "../model/datacenters-by-distance.ts";

// Round-trip estimates to WAN members from this server's WAN coordinate and the coordinates the
// members sent on their acks (Consul's router uses the WAN serf's cached coordinates the same way).

export function wanRttEstimate(wan: Membership): RttEstimate {
  const own = wan.coordinate?.();
  return (m) => {
    const other = wan.memberCoordinate?.(m.name);
    if (!own || !other || !isCompatible(own, other)) return Number.POSITIVE_INFINITY;
    return estimatedRtt(own, other) * 1000;
  };
}

/** Every datacenter but ours, nearest first (queryServerWrapper.GetOtherDatacentersByDistance). */
export function otherDatacentersByDistance(wan: Membership | undefined, localDatacenter: string): string[] {
  if (!wan) return [];
  return datacentersByDistance(wan.members(), localDatacenter, wanRttEstimate(wan)).filter((dc) => dc !== localDatacenter);
}
