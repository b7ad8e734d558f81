// Human-readable one-line renderings of Raft messages and entries for scripted traces
// (after etcd's DescribeMessage).
import type { Entry, Message } from "../../src/raft/messages.ts";
import { EntryType, MessageType } from "../../src/raft/messages.ts";
import { decodeConfChange } from "../../src/raft/confchange.ts";

const decoder = new TextDecoder();

export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} ${cc.type} ${cc.nodeId}`;
  }
  return `${e.term}/${e.index} ${e.data.byteLength === 0 ? "<empty>" : JSON.stringify(decoder.decode(e.data))}`;
}

export function describeMessage(m: Message): string {
  // Heartbeats carry the leader's lease tick in `index`, not a log position.
  const isHeartbeat = m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResp;
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term}${isHeartbeat ? "" : ` Log:${m.logTerm}/${m.index}`}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(", ")}]`;
  if (m.snapshot) s += ` Snapshot: Index:${m.snapshot.metadata.index} Term:${m.snapshot.metadata.term} Voters:[${m.snapshot.metadata.confState.voters}] Learners:[${m.snapshot.metadata.confState.learners}]`;
  return s;
}
