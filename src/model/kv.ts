export interface KVEntry {
  Key: string;
  /** Stored bytes; empty buffer serializes as `"Value": null`. */
  Value: Buffer;
  /** Full uint64 range (the Go lock helper writes values above 2^53). */
  Flags: bigint;
  LockIndex: number;
  /** Omitted from JSON when empty. */
  Session: string;
  CreateIndex: number;
  ModifyIndex: number;
}
