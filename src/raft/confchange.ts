// Membership changes one voter at a time (§4.1 of Ongaro's thesis): any majority of the old
// configuration overlaps any majority of the new one, so no joint consensus is needed. A
// learner receives the log but neither votes nor counts toward commit; promoting it (adding
// it as a voter) is the host's call once it has caught up.
import type { ConfState } from "./messages.ts";

export const ConfChangeType = {
  AddNode: "AddNode",
  RemoveNode: "RemoveNode",
  AddLearnerNode: "AddLearnerNode",
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
}

const typeCodes: readonly ConfChangeType[] = [ConfChangeType.AddNode, ConfChangeType.RemoveNode, ConfChangeType.AddLearnerNode];

/** 1 byte type + 8 bytes id (big-endian): entries carry opaque bytes. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  view.setUint8(0, typeCodes.indexOf(cc.type));
  view.setBigUint64(1, BigInt(cc.nodeId));
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength !== 9) throw new Error(`conf change: expected 9 bytes, got ${data.byteLength}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = typeCodes[view.getUint8(0)];
  if (type === undefined) throw new Error(`conf change: unknown type ${view.getUint8(0)}`);
  return { type, nodeId: Number(view.getBigUint64(1)) };
}

/**
 * The configuration after applying cc, or an error text when the change is not allowed
 * (e.g. demoting a voter to learner in one step, or removing the last voter).
 */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState | string {
  if (cc.nodeId === 0) return "conf change: node id 0 is reserved";
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  switch (cc.type) {
    case ConfChangeType.AddNode:
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case ConfChangeType.AddLearnerNode:
      if (voters.has(cc.nodeId)) return `conf change: ${cc.nodeId} is a voter; remove it before adding it as a learner`;
      learners.add(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      if (voters.size === 0) return "conf change: removed all voters";
      break;
  }
  return { voters: [...voters].sort((a, b) => a - b), learners: [...learners].sort((a, b) => a - b) };
}
