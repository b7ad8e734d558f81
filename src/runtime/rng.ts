import { randomBytes, randomUUID } from "node:crypto";

export interface Rng {
  /** Uniform in [0, 1). */
  float(): number;
  /** Random 128-bit id formatted 8-4-4-4-12 lowercase hex, as Consul generates them. */
  uuid(): string;
}

export const systemRng: Rng = {
  float: () => Math.random(),
  uuid: () => randomUUID(),
};

/** Deterministic generator (mulberry32) for simulations and tests. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  const float = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const hex = (n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) s += Math.floor(float() * 16).toString(16);
    return s;
  };
  return { float, uuid: () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}` };
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
