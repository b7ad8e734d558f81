import { errors, type ConsulError } from "../errors/catalog.ts";

/**
 * The cap on request bodies of every endpoint without its own (all but KV, txn and snapshot
 * restore, which follow kv_max_value_size, txn_max_req_len and the archive cap). Consul reads
 * such bodies whole; its Raft library's suggested largest entry (SuggestedMaxDataSize) is
 * 512 KiB, the figure its KV and txn defaults come from, and every one of these bodies becomes
 * one Raft entry or one agent registration. 512 KiB holds a node with thousands of checks; a
 * larger body would hold the event loop (decode, encode, apply) for longer than consensus can
 * afford, so it is refused (413) before it is read past the cap.
 */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 512 * 1024;

export function defaultBodyTooLarge(size: number, max: number): ConsulError {
  return errors.bodyTooLarge(size, max);
}
