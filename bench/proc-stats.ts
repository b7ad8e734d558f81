import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

// What the kernel says about a process under test (Linux /proc): resident memory and CPU time.

/** VmRSS of a process, in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** User + system CPU time of a process, in clock ticks. */
export function readCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 2 (comm) may contain spaces; everything after its closing paren is space-separated.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Waits until the process has used no CPU for `quietMs`: the point at which it has finished
 * reacting to whatever was just thrown at it (e.g. 10,000 requests being parked).
 * Returns false if it was still busy at `timeoutMs`.
 */
export async function waitUntilIdle(pid: number, quietMs = 300, timeoutMs = 15_000): Promise<boolean> {
  const stepMs = 50;
  let quietFor = 0;
  let last = readCpuTicks(pid);
  for (let waited = 0; waited < timeoutMs; waited += stepMs) {
    await sleep(stepMs);
    const now = readCpuTicks(pid);
    quietFor = now === last ? quietFor + stepMs : 0;
    last = now;
    if (quietFor >= quietMs) return true;
  }
  return false;
}

export function megabytes(bytes: number): number {
  return bytes / (1024 * 1024);
}
