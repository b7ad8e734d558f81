// Property tests of the quorum arithmetic against a dumb reference (after etcd's
// quorum/quick_test.go): random configurations and acknowledgements, many rounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VoteResult, jointCommittedIndex, jointVoteResult, majorityCommittedIndex, majorityVoteResult } from "../../src/raft/quorum.ts";
import { seededRng } from "../../src/runtime/rng.ts";

const rng = seededRng(42);
const int = (n: number): number => Math.floor(rng.float() * n);

function randomVoters(): number[] {
  const n = int(8);
  const ids = new Set<number>();
  while (ids.size < n) ids.add(1 + int(12));
  return [...ids];
}

/** Reference: the largest index such that a strict majority has acked at least it, by brute force. */
function dumbCommittedIndex(voters: number[], acked: Map<number, number>): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const candidates = [0, ...voters.map((id) => acked.get(id) ?? 0)];
  let best = 0;
  for (const idx of candidates) {
    const count = voters.filter((id) => (acked.get(id) ?? 0) >= idx).length;
    if (count * 2 > voters.length && idx > best) best = idx;
  }
  return best;
}

function dumbVoteResult(voters: number[], votes: Map<number, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  const yes = voters.filter((id) => votes.get(id) === true).length;
  const no = voters.filter((id) => votes.get(id) === false).length;
  if (yes * 2 > voters.length) return VoteResult.Won;
  // Lost when even every missing vote granted would not make a majority.
  if ((voters.length - no) * 2 <= voters.length) return VoteResult.Lost;
  return VoteResult.Pending;
}

test("quorum - majority committed index equals the brute-force reference (2000 random configurations)", () => {
  for (let round = 0; round < 2000; round++) {
    const voters = randomVoters();
    const acked = new Map<number, number>();
    for (const id of voters) if (rng.float() < 0.8) acked.set(id, int(20));
    assert.equal(majorityCommittedIndex(voters, (id) => acked.get(id)), dumbCommittedIndex(voters, acked), JSON.stringify({ voters, acked: [...acked] }));
  }
});

test("quorum - majority vote result equals the brute-force reference (2000 random configurations)", () => {
  for (let round = 0; round < 2000; round++) {
    const voters = randomVoters();
    const votes = new Map<number, boolean>();
    for (const id of voters) {
      const r = rng.float();
      if (r < 0.4) votes.set(id, true);
      else if (r < 0.8) votes.set(id, false);
    }
    assert.equal(majorityVoteResult(voters, votes), dumbVoteResult(voters, votes), JSON.stringify({ voters, votes: [...votes] }));
  }
});

test("quorum - a joint configuration commits only what both majorities hold and wins only if both win", () => {
  for (let round = 0; round < 2000; round++) {
    const incoming = randomVoters();
    const outgoing = randomVoters();
    const all = [...new Set([...incoming, ...outgoing])];
    const acked = new Map<number, number>();
    const votes = new Map<number, boolean>();
    for (const id of all) {
      acked.set(id, int(20));
      if (rng.float() < 0.7) votes.set(id, rng.float() < 0.6);
    }
    const ci = jointCommittedIndex(incoming, outgoing, (id) => acked.get(id));
    assert.equal(ci, Math.min(dumbCommittedIndex(incoming, acked), dumbCommittedIndex(outgoing, acked)));
    const r1 = dumbVoteResult(incoming, votes);
    const r2 = dumbVoteResult(outgoing, votes);
    const expected = r1 === VoteResult.Lost || r2 === VoteResult.Lost ? VoteResult.Lost : r1 === VoteResult.Won && r2 === VoteResult.Won ? VoteResult.Won : VoteResult.Pending;
    assert.equal(jointVoteResult(incoming, outgoing, votes), expected);
  }
});

test("quorum - any two majorities of a configuration intersect, and so do majorities of configurations one voter apart", () => {
  for (let round = 0; round < 300; round++) {
    const voters = randomVoters();
    if (voters.length === 0) continue;
    const changed = rng.float() < 0.5 ? [...voters, 100] : voters.slice(1);
    if (changed.length === 0) continue;
    const pickMajority = (ids: number[]): Set<number> => {
      const shuffled = ids.slice().sort(() => rng.float() - 0.5);
      return new Set(shuffled.slice(0, Math.floor(ids.length / 2) + 1));
    };
    const a = pickMajority(voters);
    const b = pickMajority(changed);
    assert.ok([...a].some((id) => b.has(id)), JSON.stringify({ voters, changed, a: [...a], b: [...b] }));
  }
});

test("quorum - the empty configuration never constrains: commit index is infinite and votes are won", () => {
  assert.equal(majorityCommittedIndex([], () => 0), Number.POSITIVE_INFINITY);
  assert.equal(majorityVoteResult([], new Map()), VoteResult.Won);
  assert.equal(jointCommittedIndex([1], [], () => 7), 7);
});
