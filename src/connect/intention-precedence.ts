// Intention precedence (spec/connect.md §6.3, Consul's Intention.UpdatePrecedence): exact
// names rank above wildcards, the destination counting more than the source. In OSS the
// namespaces are always exact, so only 9, 8, 6 and 5 occur.

export const WILDCARD = "*";

export function intentionPrecedence(src: { ns: string; name: string }, dst: { ns: string; name: string }): number {
  let p = 1;
  if (dst.ns !== WILDCARD) {
    p += 3;
    if (dst.name !== WILDCARD) p += 3;
  }
  if (src.ns !== WILDCARD) {
    p += 1;
    if (src.name !== WILDCARD) p += 1;
  }
  return p;
}
