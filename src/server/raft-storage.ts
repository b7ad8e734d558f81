import type { ConfState, Snapshot } from "../raft/messages.ts";
import { isEmptySnapshot } from "../raft/messages.ts";
import type { Storage } from "../raft/storage.ts";
import { MemoryBackedStorage, MemoryStorage } from "../raft/storage.ts";
import type { PersistBatch } from "../storage/disk-storage.ts";

/**
 * What the node driver needs from Raft's storage: the core's read side plus the writes a
 * Ready asks for. DiskStorage is the durable one; InMemoryRaftStorage serves -dev, where
 * nothing survives the process anyway.
 */
export interface RaftHostStorage extends Storage {
  persist(batch: PersistBatch): Promise<void>;
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  compact(index: number): Promise<void>;
  /** The core's commit index at close, when it moved after the last persisted Ready. */
  noteCommit(commit: number): void;
  close(): Promise<void>;
  readonly walStats: Readonly<{ fsyncs: number }>;
}

export class InMemoryRaftStorage extends MemoryBackedStorage implements RaftHostStorage {
  readonly walStats = { fsyncs: 0 } as const;

  constructor() {
    super(new MemoryStorage());
  }

  persist(batch: PersistBatch): Promise<void> {
    if (batch.snapshot && !isEmptySnapshot(batch.snapshot)) this.memory.applySnapshot(batch.snapshot);
    const snapIndex = this.memory.snapshot().metadata.index;
    this.memory.append(batch.entries.filter((e) => e.index > snapIndex));
    if (batch.hardState) this.memory.setHardState(batch.hardState);
    return Promise.resolve();
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return Promise.resolve(this.memory.createSnapshot(index, confState, data));
  }

  compact(index: number): Promise<void> {
    this.memory.compact(index);
    return Promise.resolve();
  }

  noteCommit(): void {
    // Nothing survives the process: a restart starts empty.
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
