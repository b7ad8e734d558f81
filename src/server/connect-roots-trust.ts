import type { StateStore } from "../state/store.ts";
import { WatchSet } from "../state/watch.ts";

// Servers with auto_encrypt.allow_tls accept RPC client certificates signed by the Connect CA
// (as Consul adds the Connect roots to the server's incoming CA pool). The roots are Raft
// state, so every server follows them from its own store: after a rotation the new root is
// trusted as soon as it commits, and rotated-out roots as long as they are kept.

/** Calls `onRoots` now and after every change of the Connect roots; returns the unsubscribe. */
export function followConnectRoots(state: StateStore, onRoots: (pems: string[]) => void): () => void {
  let stopped = false;
  let unsubscribe = (): void => {};
  const read = (): void => {
    if (stopped) return;
    const ws = new WatchSet();
    const pems = state.connectCa.roots(ws).flatMap((r) => [r.RootCert, ...(r.IntermediateCerts ?? [])]);
    // The hub drops a topic's waiters once it fires: subscribe again on every wake.
    unsubscribe = state.hub.subscribe(ws.topics, read);
    onRoots(pems);
  };
  read();
  return () => {
    stopped = true;
    unsubscribe();
  };
}
