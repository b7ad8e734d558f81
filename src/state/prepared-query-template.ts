import { compileRe2 } from "../filter/regex.ts";
import { FilterError } from "../filter/filter-error.ts";
import { TEMPLATE_TYPE_NAME_PREFIX_MATCH, type PreparedQuery, type ServiceQuery } from "../model/prepared-query.ts";

// Prepared query templates (Consul's agent/consul/prepared_query): every string inside a
// template's Service is an interpolation (the HIL subset Consul documents): `${name.full}`,
// `${name.prefix}`, `${name.suffix}`, `${agent.segment}` and `${match(N)}` (group N of
// Template.Regexp run on the full name; "" when out of range or no match). `$${` is a literal
// `${`. A template is compiled when stored (errors refuse the write) and rendered per lookup.

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

type Part = { kind: "text"; text: string } | { kind: "var"; name: string } | { kind: "match"; group: number };

const VARIABLES = new Set(["name.full", "name.prefix", "name.suffix", "agent.segment"]);

/** Parses one string; throws the parser's message (without the field context). */
function parseInterpolation(s: string): Part[] {
  const parts: Part[] = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    if (s.startsWith("$${", i)) {
      text += "${";
      i += 3;
      continue;
    }
    if (!s.startsWith("${", i)) {
      text += s[i++];
      continue;
    }
    const end = s.indexOf("}", i + 2);
    if (end < 0) throw new TemplateError(`parse error at 1:${i + 1}: expected "}" but found end of string`);
    const expr = s.slice(i + 2, end).trim();
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
    parts.push(parseExpression(expr, i));
    i = end + 1;
  }
  if (text !== "" || parts.length === 0) parts.push({ kind: "text", text });
  return parts;
}

function parseExpression(expr: string, at: number): Part {
  const call = /^match\s*\(\s*(-?\d+)\s*\)$/.exec(expr);
  if (call) return { kind: "match", group: Number(call[1]) };
  if (/^[A-Za-z_][\w.-]*$/.test(expr)) {
    if (!VARIABLES.has(expr)) throw new TemplateError(`unknown variable accessed: ${expr}`);
    return { kind: "var", name: expr };
  }
  if (/^[A-Za-z_]\w*\s*\(/.test(expr)) {
    const fn = expr.slice(0, expr.indexOf("(")).trim();
    if (fn !== "match") throw new TemplateError(`unknown function called: ${fn}`);
  }
  throw new TemplateError(`parse error at 1:${at + 3}: invalid expression ${JSON.stringify(expr)}`);
}

/** Every string field of a Service, with Consul's walk paths (".Service", ".Tags[0]", ".NodeMeta[key]"). */
function walkStrings(svc: ServiceQuery, visit: (path: string, value: string, set: (v: string) => void) => void): void {
  visit(".Service", svc.Service, (v) => (svc.Service = v));
  visit(".SamenessGroup", svc.SamenessGroup, (v) => (svc.SamenessGroup = v));
  const dcs = svc.Failover.Datacenters;
  if (dcs) dcs.forEach((dc, i) => visit(`.Failover.Datacenters[${i}]`, dc, (v) => (dcs[i] = v)));
  const targets = svc.Failover.Targets;
  if (targets) {
    targets.forEach((t, i) => {
      visit(`.Failover.Targets[${i}].Peer`, t.Peer, (v) => (t.Peer = v));
      visit(`.Failover.Targets[${i}].Datacenter`, t.Datacenter, (v) => (t.Datacenter = v));
    });
  }
  const ignore = svc.IgnoreCheckIDs;
  if (ignore) ignore.forEach((c, i) => visit(`.IgnoreCheckIDs[${i}]`, c, (v) => (ignore[i] = v)));
  visit(".Near", svc.Near, (v) => (svc.Near = v));
  const tags = svc.Tags;
  if (tags) tags.forEach((t, i) => visit(`.Tags[${i}]`, t, (v) => (tags[i] = v)));
  for (const [field, meta] of [["NodeMeta", svc.NodeMeta], ["ServiceMeta", svc.ServiceMeta]] as const) {
    if (!meta) continue;
    for (const k of Object.keys(meta)) visit(`.${field}[${k}]`, meta[k], (v) => (meta[k] = v));
  }
  visit(".Peer", svc.Peer, (v) => (svc.Peer = v));
}

export function cloneServiceQuery(s: ServiceQuery): ServiceQuery {
  return {
    ...s,
    Failover: {
      NearestN: s.Failover.NearestN,
      Datacenters: s.Failover.Datacenters ? [...s.Failover.Datacenters] : null,
      Targets: s.Failover.Targets ? s.Failover.Targets.map((t) => ({ ...t })) : null,
    },
    IgnoreCheckIDs: s.IgnoreCheckIDs ? [...s.IgnoreCheckIDs] : null,
    Tags: s.Tags ? [...s.Tags] : null,
    NodeMeta: s.NodeMeta ? { ...s.NodeMeta } : null,
    ServiceMeta: s.ServiceMeta ? { ...s.ServiceMeta } : null,
  };
}

/** What a rendering knows about the asker (Consul's QuerySource): only the segment is used. */
export interface RenderSource {
  segment: string;
}

export class CompiledTemplate {
  readonly #query: PreparedQuery;
  readonly #trees = new Map<string, Part[]>();
  readonly #re: RegExp | undefined;

  /** Throws TemplateError with Consul's wording ("Bad Template.Type …", "Bad Regexp: …", "Bad format …"). */
  constructor(query: PreparedQuery) {
    if (query.Template.Type !== TEMPLATE_TYPE_NAME_PREFIX_MATCH) throw new TemplateError(`Bad Template.Type '${query.Template.Type}'`);
    this.#query = query;
    walkStrings(cloneServiceQuery(query.Service), (path, value) => {
      try {
        this.#trees.set(path, parseInterpolation(value));
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        throw new TemplateError(`Bad format '${value}' in Service${path}: ${e.message}`);
      }
    });
    if (query.Template.Regexp !== "") {
      try {
        this.#re = compileRe2(query.Template.Regexp);
      } catch (e) {
        if (!(e instanceof FilterError)) throw e;
        throw new TemplateError(`Bad Regexp: ${e.message.replace(/^Failed to compile regular expression .*?: /, "")}`);
      }
    }
    // A test render with the bare prefix catches evaluation errors before the query is stored.
    this.render(query.Name, { segment: "" });
  }

  /** The query for `name`: every Service string interpolated (Consul's CompiledTemplate.Render). */
  render(name: string, source: RenderSource): PreparedQuery {
    const q = this.#query;
    const service = cloneServiceQuery(q.Service);
    const matches = this.#re ? (this.#re.exec(name) ?? []) : [];
    const vars: Record<string, string> = {
      "name.full": name,
      "name.prefix": q.Name,
      "name.suffix": name.startsWith(q.Name) ? name.slice(q.Name.length) : name,
      "agent.segment": source.segment,
    };
    walkStrings(service, (path, _value, set) => {
      const parts = this.#trees.get(path);
      if (!parts) return;
      let out = "";
      for (const p of parts) {
        if (p.kind === "text") out += p.text;
        else if (p.kind === "var") out += vars[p.name];
        else out += p.group >= 0 && p.group < matches.length ? (matches[p.group] ?? "") : "";
      }
      set(out);
    });
    if (q.Template.RemoveEmptyTags && service.Tags) service.Tags = service.Tags.filter((t) => t !== "");
    return { ...q, Service: service, Template: { ...q.Template }, DNS: { ...q.DNS } };
  }
}
