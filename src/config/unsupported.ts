// Keys Consul accepts that Consulate does not (yet) honour. An agent that silently ignored
// `acl.enabled = true` or a TLS certificate would promise what it does not do, so each such
// key stops start-up (and `consulate validate`) with a message naming the key and the file
// that set it. A key is only refused when its value would change behaviour we do not
// implement: a config that spells out what we already do (a default) still loads.

import { ConfigError, formatMultiError } from "./config-error.ts";
import { isPlainObject, type RawConfig } from "./decode.ts";

/** For each key path a user source set, the source's name (file path, "flags-0.hcl"…). */
export type SetBy = Map<string, string>;

/** Records every key path in one decoded source, so a refusal can name where it came from. */
export function recordSetBy(config: RawConfig, sourceName: string, setBy: SetBy, prefix = ""): void {
  for (const [key, value] of Object.entries(config)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    setBy.set(path, sourceName);
    if (isPlainObject(value)) recordSetBy(value, sourceName, setBy, path);
  }
}

interface Refusal {
  key: string;
  /** True when the (merged) value asks for something Consulate does not do. */
  refuses: (value: unknown) => boolean;
  /** What is missing, and what the operator can do instead. */
  why: string;
}

const isTrue = (v: unknown): boolean => v === true;

export const REFUSALS: readonly Refusal[] = [
  {
    key: "acl.enabled",
    refuses: isTrue,
    why: "ACL enforcement is not implemented yet, and an agent that reported ACLs enabled would still answer every request; remove the key or set it to false",
  },
  {
    // Consul: "when the acl_datacenter config is used it implicitly enables acls".
    key: "acl_datacenter",
    refuses: (v) => typeof v === "string",
    why: "this legacy key turns ACLs on, and ACL enforcement is not implemented yet; use primary_datacenter to name the primary datacenter",
  },
];

function valueAt(config: RawConfig, path: string): unknown {
  let cur: unknown = config;
  for (const part of path.split(".")) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** Throws a ConfigError naming every refused key a user source set, and where it was set. */
export function refuseUnsupportedKeys(merged: RawConfig, setBy: SetBy, refusals: readonly Refusal[] = REFUSALS): void {
  const problems: Array<{ key: string; source: string; message: string }> = [];
  for (const rule of refusals) {
    const source = setBy.get(rule.key);
    if (source === undefined) continue; // a default or the -dev profile, not the operator's choice
    const value = valueAt(merged, rule.key);
    if (value === undefined || !rule.refuses(value)) continue;
    problems.push({
      key: rule.key,
      source,
      message: `${rule.key} = ${shown(value)} (set in ${source}) is not supported by Consulate yet: ${rule.why}`,
    });
  }
  if (problems.length === 0) return;
  const first = problems[0];
  const message = problems.length === 1 ? first.message : formatMultiError(problems.map((p) => p.message));
  throw new ConfigError(message, { source: first.source, key: first.key });
}
