import { useEffect, useState } from "preact/hooks";
import { getJson } from "./api.ts";
import { MIN_SPACING_MS, nextIndex, RETRY_AFTER_MS } from "./blocking.ts";

// Live data for a page: one long-lived read loop per path. Each read waits on the last
// X-Consul-Index (a blocking query), so an answer comes only when something changed — no
// polling. Leaving the page aborts the read in flight.

export interface LiveState<T> {
  data: T | undefined;
  /** Still waiting for the first answer. */
  loading: boolean;
  /** The first read answered 404 (unknown node, missing key). */
  missing: boolean;
  error: string | undefined;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

export function useBlockingQuery<T>(path: string | undefined): LiveState<T> {
  const [state, setState] = useState<LiveState<T>>({ data: undefined, loading: true, missing: false, error: undefined });
  useEffect(() => {
    setState({ data: undefined, loading: true, missing: false, error: undefined });
    if (path === undefined) return;
    const controller = new AbortController();
    const { signal } = controller;
    const loop = async (): Promise<void> => {
      let index = 0;
      while (!signal.aborted) {
        const started = Date.now();
        try {
          const sep = path.includes("?") ? "&" : "?";
          const url = index > 0 ? `${path}${sep}index=${index}&wait=5m` : path;
          const result = await getJson<T>(url, signal);
          const next = nextIndex(index, result.index);
          setState({ data: result.data, loading: false, missing: result.data === undefined, error: undefined });
          // No index header: the answer cannot be waited on, so there is nothing to follow.
          if (next === 0 && result.index === null) return;
          index = next;
          await sleep(Math.max(0, MIN_SPACING_MS - (Date.now() - started)), signal);
        } catch (err) {
          if (signal.aborted) return;
          setState((s) => ({ ...s, loading: false, error: err instanceof Error ? err.message : String(err) }));
          await sleep(RETRY_AFTER_MS, signal);
        }
      }
    };
    void loop();
    return () => controller.abort();
  }, [path]);
  return state;
}
