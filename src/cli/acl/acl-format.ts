// Pretty and JSON renderings of ACL objects, laid out as consul's command/acl formatters do
// (labels padded to one column, links as "   <id> - <name>", JSON indented by four spaces).

type Json = Record<string, unknown>;

export type OutputFormat = "pretty" | "json";

/** The -format flag's value, or consul's error line for anything else. */
export function outputFormat(text: string): OutputFormat | { error: string } {
  if (text === "pretty" || text === "json") return text;
  return { error: `Unknown format: ${text}` };
}

function s(value: unknown): string {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => typeof v === "object" && v !== null) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(s) : [];
}

/**
 * A JSON timestamp as Go prints a time.Time with %v: "2006-01-02 15:04:05.999999999 -0700 MST".
 * The offset is kept as the server sent it (UTC for this agent); the fraction loses trailing zeros.
 */
export function goTimeString(value: unknown): string {
  const text = s(value);
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return text;
  const fraction = (m[3] ?? "").replace(/0+$/, "");
  const zone = m[4] === "Z" ? "+0000 UTC" : `${m[4].replace(":", "")} ${m[4].replace(":", "")}`;
  return `${m[1]} ${m[2]}${fraction === "" ? "" : `.${fraction}`} ${zone}`;
}

/** Go's %x of a []byte that arrived base64-encoded. */
function hashHex(value: unknown): string {
  return Buffer.from(s(value), "base64").toString("hex");
}

function metaLines(object: Json, indent: string): string {
  return (
    `${indent}Hash:         ${hashHex(object.Hash)}\n` +
    `${indent}Create Index: ${s(object.CreateIndex)}\n` +
    `${indent}Modify Index: ${s(object.ModifyIndex)}\n`
  );
}

function linkLines(title: string, links: unknown, indent: string): string {
  const entries = list(links);
  if (entries.length === 0) return "";
  return `${indent}${title}:\n` + entries.map((l) => `${indent}   ${s(l.ID)} - ${s(l.Name)}\n`).join("");
}

function serviceIdentityLines(value: unknown, indent: string): string {
  const entries = list(value);
  if (entries.length === 0) return "";
  return (
    `${indent}Service Identities:\n` +
    entries
      .map((id) => {
        const dcs = strings(id.Datacenters);
        return `${indent}   ${s(id.ServiceName)} (Datacenters: ${dcs.length > 0 ? dcs.join(", ") : "all"})\n`;
      })
      .join("")
  );
}

function nodeIdentityLines(value: unknown, indent: string): string {
  const entries = list(value);
  if (entries.length === 0) return "";
  return `${indent}Node Identities:\n` + entries.map((id) => `${indent}   ${s(id.NodeName)} (Datacenter: ${s(id.Datacenter)})\n`).join("");
}

function templatedPolicyLines(value: unknown, indent: string): string {
  const entries = list(value);
  if (entries.length === 0) return "";
  let out = `${indent}Templated Policies:\n`;
  for (const tp of entries) {
    out += `${indent}   ${s(tp.TemplateName)}\n`;
    const vars = tp.TemplateVariables;
    if (typeof vars === "object" && vars !== null && s((vars as Json).Name) !== "") out += `${indent}      Name: ${s((vars as Json).Name)}\n`;
    const dcs = strings(tp.Datacenters);
    out += `${indent}      Datacenters: ${dcs.length > 0 ? dcs.join(", ") : "all"}\n`;
  }
  return out;
}

function tokenHead(token: Json, showMeta: boolean, listEntry: boolean): string {
  let out = `AccessorID:       ${s(token.AccessorID)}\n` + `SecretID:         ${s(token.SecretID)}\n`;
  out += `Description:      ${s(token.Description)}\n`;
  out += `Local:            ${token.Local === true ? "true" : "false"}\n`;
  out += `Create Time:      ${goTimeString(token.CreateTime)}\n`;
  if (s(token.ExpirationTime) !== "") out += `Expiration Time:  ${goTimeString(token.ExpirationTime)}\n`;
  if (listEntry) out += `Legacy:           false\n`;
  if (showMeta) {
    out += `Hash:             ${hashHex(token.Hash)}\n` + `Create Index:     ${s(token.CreateIndex)}\n` + `Modify Index:     ${s(token.ModifyIndex)}\n`;
  }
  return out;
}

function tokenLinks(token: Json): string {
  return (
    linkLines("Policies", token.Policies, "") +
    linkLines("Roles", token.Roles, "") +
    serviceIdentityLines(token.ServiceIdentities, "") +
    nodeIdentityLines(token.NodeIdentities, "") +
    templatedPolicyLines(token.TemplatedPolicies, "")
  );
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 4);
}

export function formatToken(token: Json, format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(token);
  return tokenHead(token, showMeta, false) + tokenLinks(token);
}

export function formatTokenList(tokens: Json[], format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(tokens);
  return tokens.map((t) => tokenHead(t, showMeta, true) + tokenLinks(t)).join("\n");
}

/**
 * `acl token read -expanded`: the token, then the policies and roles its links resolve to.
 * JSON is the API object; the pretty layout is this project's (consul's also prints its
 * authorizer layers, which this agent does not model).
 */
export function formatTokenExpanded(expanded: Json, format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(expanded);
  let out = tokenHead(expanded, showMeta, false) + tokenLinks(expanded);
  const policies = list(expanded.ExpandedPolicies);
  if (policies.length > 0) {
    out += "\nPolicies:\n";
    for (const p of policies) out += `   ${s(p.ID)} - ${s(p.Name)}\n      Rules:\n${s(p.Rules).split("\n").map((l) => `         ${l}`).join("\n")}\n`;
  }
  const roles = list(expanded.ExpandedRoles);
  if (roles.length > 0) {
    out += "\nRoles:\n";
    for (const r of roles) out += `   ${s(r.ID)} - ${s(r.Name)}\n`;
  }
  return out;
}

export function formatPolicy(policy: Json, format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(policy);
  let out = `ID:           ${s(policy.ID)}\n` + `Name:         ${s(policy.Name)}\n` + `Description:  ${s(policy.Description)}\n`;
  out += `Datacenters:  ${strings(policy.Datacenters).join(", ")}\n`;
  if (showMeta) out += metaLines(policy, "");
  out += `Rules:\n${s(policy.Rules)}`;
  return out;
}

export function formatPolicyList(policies: Json[], format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(policies);
  return policies
    .map((p) => {
      let out = `${s(p.Name)}:\n` + `   ID:           ${s(p.ID)}\n` + `   Description:  ${s(p.Description)}\n`;
      out += `   Datacenters:  ${strings(p.Datacenters).join(", ")}\n`;
      if (showMeta) out += metaLines(p, "   ");
      return out;
    })
    .join("");
}

function roleBody(role: Json, showMeta: boolean, indent: string): string {
  let out = `${indent}ID:           ${s(role.ID)}\n`;
  if (indent === "") out += `Name:         ${s(role.Name)}\n`;
  out += `${indent}Description:  ${s(role.Description)}\n`;
  if (showMeta) out += metaLines(role, indent);
  const links = list(role.Policies);
  if (links.length > 0) out += `${indent}Policies:\n` + links.map((l) => `${indent}   ${s(l.ID)} - ${s(l.Name)}\n`).join("");
  out += serviceIdentityLines(role.ServiceIdentities, indent);
  out += nodeIdentityLines(role.NodeIdentities, indent);
  out += templatedPolicyLines(role.TemplatedPolicies, indent);
  return out;
}

export function formatRole(role: Json, format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(role);
  return roleBody(role, showMeta, "");
}

export function formatRoleList(roles: Json[], format: OutputFormat, showMeta: boolean): string {
  if (format === "json") return json(roles);
  return roles.map((r) => `${s(r.Name)}:\n${roleBody(r, showMeta, "   ")}`).join("");
}
