// Node meta as TXT strings (spec/dns.md section 6): RFC 1464 `key=value`, with keys prefixed
// `rfc1035-` emitting the bare value.

const RFC1035_PREFIX = "rfc1035-";

function escapeKey(key: string): string {
  let out = key.replace(/`/g, "``").replace(/=/g, "`=");
  // Leading and trailing spaces in the attribute name are significant only when quoted.
  const lead = /^ +/.exec(out)?.[0].length ?? 0;
  if (lead > 0) out = "` ".repeat(lead) + out.slice(lead);
  const trail = / +$/.exec(out)?.[0].length ?? 0;
  if (trail > 0 && trail < out.length) out = out.slice(0, out.length - trail) + "` ".repeat(trail);
  return out;
}

export function encodeMetaPair(key: string, value: string): string {
  if (key.toLowerCase().startsWith(RFC1035_PREFIX)) return value;
  return `${escapeKey(key)}=${value.replace(/`/g, "``")}`;
}

/** Sorted by key so answers are stable (Go's map order is random; any order is valid). */
export function nodeMetaTexts(meta: Record<string, string> | null): string[] {
  if (!meta) return [];
  return Object.keys(meta)
    .sort()
    .map((k) => encodeMetaPair(k, meta[k]));
}
