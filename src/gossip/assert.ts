// Programmer errors crash loudly; protocol cores assert their invariants (TigerBeetle style).

export class GossipInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GossipInvariantError";
  }
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new GossipInvariantError(message);
}
