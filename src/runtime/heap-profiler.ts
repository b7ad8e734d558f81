import { Session } from "node:inspector/promises";

// The Node counterpart of Go's heap profile: V8's sampling heap profiler, on from agent start
// while profiling is allowed (enable_debug or ACLs), at Go's default rate (one sample per
// 512 KiB allocated, runtime.MemProfileRate). V8 drops a sample when its object is collected,
// so a profile shows the live (in-use) sampled memory by allocation stack, as Go's inuse_space
// does. The result is a V8 `.heapprofile` (JSON; Chrome DevTools' Memory tab opens it).
// Sampling is per isolate, so the agents of one process (tests, embedding) share one sampler.

const SAMPLING_INTERVAL_BYTES = 512 * 1024;

let session: Session | undefined;
let users = 0;
let starting: Promise<void> | undefined;

export interface HeapSampler {
  /** The live sampled allocations now, as a `.heapprofile` JSON document. */
  profile(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts (or joins) the process's heap sampling; stop() leaves it, the last one out ends it. */
export async function startHeapSampling(): Promise<HeapSampler> {
  users++;
  if (!session) {
    const s = new Session();
    session = s;
    s.connect();
    starting = (async () => {
      await s.post("HeapProfiler.enable");
      await s.post("HeapProfiler.startSampling", { samplingInterval: SAMPLING_INTERVAL_BYTES });
    })();
  }
  await starting;
  let stopped = false;
  return {
    async profile() {
      const s = session;
      if (!s || stopped) throw new Error("heap sampling is not running");
      const { profile } = await s.post("HeapProfiler.getSamplingProfile");
      return JSON.stringify(profile);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      users--;
      if (users > 0 || !session) return;
      const s = session;
      session = undefined;
      starting = undefined;
      try {
        await s.post("HeapProfiler.stopSampling");
      } finally {
        s.disconnect();
      }
    },
  };
}
