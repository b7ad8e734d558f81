// Idempotent writes must not bump ModifyIndex (Prometheus and watches treat an unchanged
// index as "nothing happened"), so writes compare the new row with the stored one.
export function sameRow(a: object, b: object): boolean {
  return stableJson(a, true) === stableJson(b, true);
}

function stableJson(v: unknown, top = false): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v)) return `b:${v.toString("base64")}`;
  if (Array.isArray(v)) return `[${v.map((x) => stableJson(x)).join(",")}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v as Record<string, unknown>)
      .filter((k) => !(top && (k === "CreateIndex" || k === "ModifyIndex")))
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
