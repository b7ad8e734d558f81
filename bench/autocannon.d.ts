// autocannon ships no type declarations; this covers the part of its programmatic API the
// benchmark uses (see node_modules/autocannon/README.md, "autocannon(opts[, cb])").
declare module "autocannon" {
  export interface AutocannonOptions {
    url: string;
    method?: "GET" | "PUT" | "POST" | "DELETE";
    body?: string | Buffer;
    headers?: Record<string, string>;
    connections?: number;
    /** Seconds. */
    duration?: number;
    pipelining?: number;
    /** Seconds before a request counts as timed out. */
    timeout?: number;
  }

  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p99: number;
  }

  export interface AutocannonResult {
    requests: Histogram;
    latency: Histogram;
    throughput: Histogram;
    /** Seconds the measured run took. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    mismatches: number;
    statusCodeStats: Record<string, { count: number }>;
  }

  export interface AutocannonInstance extends PromiseLike<AutocannonResult> {
    stop(): void;
  }

  export default function autocannon(options: AutocannonOptions): AutocannonInstance;
}
