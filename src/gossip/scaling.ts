// Timeouts and limits that grow with the cluster size, after memberlist's util.go. The growth
// is logarithmic so per-member work stays constant while detection stays reliable.

/** Times a broadcast is retransmitted: enough for epidemic spread to reach all n members. */
export function retransmitLimit(retransmitMult: number, memberCount: number): number {
  const scale = Math.ceil(Math.log10(memberCount + 1));
  return retransmitMult * scale;
}

/** Lifeguard's minimum suspicion timeout; log10 so 1,000 members wait 3× what 10 do. */
export function suspicionTimeoutMs(suspicionMult: number, memberCount: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, memberCount)));
  return Math.floor(suspicionMult * nodeScale * probeIntervalMs);
}

/** Past 32 members, push-pull slows down so the cluster's total TCP load stays bounded. */
export function pushPullIntervalMs(baseIntervalMs: number, memberCount: number): number {
  const threshold = 32;
  if (memberCount <= threshold) return baseIntervalMs;
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(threshold)) + 1;
  return baseIntervalMs * multiplier;
}
