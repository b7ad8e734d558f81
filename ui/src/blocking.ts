// The index rules of Consul's blocking queries as the UI follows them (spec/ui.md §3.1): the
// first read has no index, each next one waits on the last X-Consul-Index; an index that goes
// backwards (a restored snapshot, another server) starts over.

/** The index to send on the next read, from the one sent and the X-Consul-Index received. */
export function nextIndex(sent: number, header: string | null): number {
  const received = Number(header);
  if (!Number.isFinite(received) || received <= 0) return 0;
  if (received < sent) return 0;
  return Math.floor(received);
}

/** How long to wait before retrying after a failed read: 3 s, as Consul's UI. */
export const RETRY_AFTER_MS = 3000;
/** Reads are never closer together than this, so a key written in a tight loop cannot spin the page. */
export const MIN_SPACING_MS = 500;
