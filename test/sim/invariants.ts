// The Raft safety properties (Figure 3 of the paper), checked against every node the
// simulator touched after every event. A violation throws with a readable explanation.
import type { Entry } from "../../src/raft/messages.ts";
import type { Raft } from "../../src/raft/raft.ts";
import { StateType } from "../../src/raft/raft.ts";

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

const digests = new WeakMap<Entry, string>();

export function entryDigest(e: Entry): string {
  let d = digests.get(e);
  if (d === undefined) {
    d = `${e.term}/${e.type}/${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString("latin1")}`;
    digests.set(e, d);
  }
  return d;
}

export class InvariantChecker {
  /** Election Safety: at most one leader per term. */
  private leaders = new Map<number, number>();
  /** Log Matching: per (index, term), the entry's digest and the term of the entry before it. */
  private seen = new Map<string, { digest: string; prevTerm: number }>();
  /** Committed entries by index, with the term of the node that first committed them. */
  private committed: { digest: string; commitTerm: number }[] = [];
  private maxCommit = 0;
  /** State Machine Safety: what every node applied at each index. */
  private applied: string[] = [];
  private wasLeader = new Map<number, number>();
  private lastSeen = new Map<number, Map<number, Entry>>();
  /** Per node, the commit index up to which its committed entries were compared. */
  private checkedCommit = new Map<number, number>();

  observe(r: Raft): void {
    const log = r.raftLog;
    if (r.state === StateType.Leader) {
      const other = this.leaders.get(r.term);
      if (other !== undefined && other !== r.id) {
        throw new InvariantViolation(`election safety: nodes ${other} and ${r.id} are both leader of term ${r.term}`);
      }
      this.leaders.set(r.term, r.id);
    }
    const first = log.firstIndex();
    const last = log.lastIndex();
    const ents = last >= first ? log.slice(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
    let prevTerm = log.term(first - 1);
    // Entries this node held (as the same objects, after the same predecessor) at its last
    // check were verified then; only what changed since needs the global maps.
    const last_ = this.lastSeen.get(r.id) ?? new Map<number, Entry>();
    const seenNow = new Map<number, Entry>();
    let prevUnchanged = last_.get(first - 1) !== undefined || first === 1;
    for (const e of ents) {
      seenNow.set(e.index, e);
      const unchanged = prevUnchanged && last_.get(e.index) === e;
      prevUnchanged = unchanged;
      if (unchanged) {
        prevTerm = e.term;
        continue;
      }
      const key = `${e.index}:${e.term}`;
      const digest = entryDigest(e);
      const known = this.seen.get(key);
      if (!known) this.seen.set(key, { digest, prevTerm });
      else if (known.digest !== digest) {
        throw new InvariantViolation(`log matching: node ${r.id} holds a different entry at index ${e.index} term ${e.term}`);
      } else if (known.prevTerm !== prevTerm) {
        throw new InvariantViolation(
          `log matching: node ${r.id} has term ${prevTerm} before (${e.index}, ${e.term}); another log has term ${known.prevTerm}`,
        );
      }
      prevTerm = e.term;
    }
    this.lastSeen.set(r.id, seenNow);
    // Newly committed entries are recorded with the committing node's term; entries already
    // known committed must never change. Entries re-checked: those newly committed on this
    // node, and changed ones below its commit index.
    const commit = Math.min(log.committed, last);
    const checked = Math.min(this.checkedCommit.get(r.id) ?? 0, commit);
    for (let i = Math.max(first, 1); i <= commit; i++) {
      const e = ents[i - first];
      if (i <= checked && seenNow.get(i) === last_.get(i)) continue;
      const digest = entryDigest(e);
      if (i > this.maxCommit) {
        this.committed[i] = { digest, commitTerm: r.term };
      } else if (this.committed[i] !== undefined && this.committed[i].digest !== digest) {
        throw new InvariantViolation(`committed entry ${i} changed on node ${r.id}`);
      }
    }
    if (commit > this.maxCommit) this.maxCommit = commit;
    this.checkedCommit.set(r.id, commit);

    if (r.state === StateType.Leader && this.wasLeader.get(r.id) !== r.term) {
      this.wasLeader.set(r.id, r.term);
      this.checkLeaderCompleteness(r, first, last, ents);
    }
  }

  /** Leader Completeness: a new leader holds every entry committed in earlier terms. */
  private checkLeaderCompleteness(r: Raft, first: number, last: number, ents: Entry[]): void {
    for (let i = this.maxCommit; i >= 1; i--) {
      const c = this.committed[i];
      if (c === undefined || c.commitTerm >= r.term) continue;
      if (i > last) throw new InvariantViolation(`leader completeness: leader ${r.id} of term ${r.term} lacks committed entry ${i}`);
      if (i < first) break;
      if (entryDigest(ents[i - first]) !== c.digest) {
        throw new InvariantViolation(`leader completeness: leader ${r.id} of term ${r.term} has a different entry at committed index ${i}`);
      }
    }
  }

  /** State Machine Safety: no two nodes apply different entries at the same index. */
  onApply(nodeId: number, e: Entry, expectedIndex: number): void {
    if (e.index !== expectedIndex) {
      throw new InvariantViolation(`node ${nodeId} applied index ${e.index}, expected ${expectedIndex} (gap or repeat)`);
    }
    const digest = entryDigest(e);
    const known = this.applied[e.index];
    if (known === undefined) this.applied[e.index] = digest;
    else if (known !== digest) throw new InvariantViolation(`state machine safety: node ${nodeId} applied a different entry at ${e.index}`);
  }

  leaderCount(): number {
    return this.leaders.size;
  }
}
