import { megabytes } from "./proc-stats.ts";

// How figures read in the table: units always attached, so no cell is a bare number.

export const reqPerSec = (n: number): string => `${Math.round(n).toLocaleString("en-US")} req/s`;
export const ms = (n: number): string => (Number.isFinite(n) ? `${Math.round(n).toLocaleString("en-US")} ms` : "never");
export const mbPerSec = (bytes: number): string => `${megabytes(bytes).toFixed(1)} MB/s`;
export const mb = (bytes: number): string => `${megabytes(bytes).toFixed(1)} MB`;
export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
/** agent ÷ bare for figures where lower is better (ms, MB). */
export const times = (agent: number, bare: number): string => (bare > 0 && Number.isFinite(agent) ? `${(agent / bare).toFixed(2)}×` : "—");
export const count = (n: number): string => n.toLocaleString("en-US");

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
