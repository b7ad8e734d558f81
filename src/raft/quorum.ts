// Quorum arithmetic for majority configurations and joint ones (two majorities that must
// both agree), after etcd's quorum package. Pure functions so they can be property-tested
// against a dumb reference.

export const VoteResult = {
  Pending: "VotePending",
  Lost: "VoteLost",
  Won: "VoteWon",
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** Acknowledged log index per voter; undefined counts as 0. */
export type AckedIndexer = (id: number) => number | undefined;

/**
 * The largest index that a majority of voters has acknowledged. An empty configuration
 * returns +Infinity so it never constrains a joint configuration.
 */
export function majorityCommittedIndex(voters: Iterable<number>, acked: AckedIndexer): number {
  const srt: number[] = [];
  for (const id of voters) srt.push(acked(id) ?? 0);
  const n = srt.length;
  if (n === 0) return Number.POSITIVE_INFINITY;
  srt.sort((a, b) => b - a);
  // With the acks sorted high to low, the (n/2+1)-th highest is acked by a majority.
  return srt[Math.floor(n / 2)];
}

/** Won once a majority granted, Lost once a majority can no longer be reached. */
export function majorityVoteResult(voters: Iterable<number>, votes: ReadonlyMap<number, boolean>): VoteResult {
  let granted = 0;
  let missing = 0;
  let n = 0;
  for (const id of voters) {
    n++;
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  if (n === 0) return VoteResult.Won;
  const q = Math.floor(n / 2) + 1;
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

export function jointCommittedIndex(incoming: Iterable<number>, outgoing: Iterable<number>, acked: AckedIndexer): number {
  return Math.min(majorityCommittedIndex(incoming, acked), majorityCommittedIndex(outgoing, acked));
}

export function jointVoteResult(incoming: Iterable<number>, outgoing: Iterable<number>, votes: ReadonlyMap<number, boolean>): VoteResult {
  const r1 = majorityVoteResult(incoming, votes);
  const r2 = majorityVoteResult(outgoing, votes);
  if (r1 === r2) return r1;
  if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}
