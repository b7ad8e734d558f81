import type { Node } from "../../model/catalog.ts";

/** A catalog node as Consul renders it (catalog.md §2.1): fixed key order, no omitempty fields set. */
export interface NodeJson {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export function nodeView(n: Node): NodeJson {
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses,
    Meta: n.Meta,
    CreateIndex: n.CreateIndex,
    ModifyIndex: n.ModifyIndex,
  };
}
