// Idempotent writes must not bump ModifyIndex (Prometheus and watches treat an unchanged
// index as "nothing happened"), so writes compare the new row with the stored one.
// Equality is the one a canonical JSON rendering would give (null and undefined alike, a
// bigint equal to the number it prints as, Buffers by bytes, key order ignored) but walks
// the values directly: stringifying both rows made every write on the hot path pay for two
// full serializations and their garbage.
export function sameRow(a: object, b: object): boolean {
  return sameObject(a as Record<string, unknown>, b as Record<string, unknown>, true);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return isNullish(a) && isNullish(b);
  const ta = typeof a;
  const tb = typeof b;
  if (ta === "number" || ta === "bigint") {
    if (tb !== "number" && tb !== "bigint") return isNullish(a) && isNullish(b);
    return numberText(a as number | bigint) === numberText(b as number | bigint);
  }
  if (ta !== "object" || tb !== "object") return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  const arrayA = Array.isArray(a);
  if (arrayA !== Array.isArray(b)) return false;
  if (arrayA) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
    return true;
  }
  return sameObject(a as Record<string, unknown>, b as Record<string, unknown>, false);
}

function sameObject(a: Record<string, unknown>, b: Record<string, unknown>, top: boolean): boolean {
  let count = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k) || (top && isIndexField(k))) continue;
    if (!Object.hasOwn(b, k) || !sameValue(a[k], b[k])) return false;
    count++;
  }
  for (const k in b) {
    if (Object.hasOwn(b, k) && !(top && isIndexField(k))) count--;
  }
  return count === 0;
}

function isIndexField(k: string): boolean {
  return k === "CreateIndex" || k === "ModifyIndex";
}

/** JSON renders NaN and ±Infinity as null. */
function isNullish(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v));
}

function numberText(v: number | bigint): string {
  return typeof v === "number" && !Number.isFinite(v) ? "null" : String(v);
}
