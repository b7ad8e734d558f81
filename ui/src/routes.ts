// Consul's UI routes (spec/ui.md §2), so bookmarks carry over: parsed from and built into
// paths under the content path. Pure functions, no DOM.

export type Route =
  | { page: "services"; dc: string }
  | { page: "service-instances"; dc: string; service: string }
  | { page: "instance-checks"; dc: string; service: string; node: string; id: string }
  | { page: "nodes"; dc: string }
  | { page: "node-checks"; dc: string; node: string }
  | { page: "kv-folder"; dc: string; prefix: string }
  | { page: "kv-edit"; dc: string; key: string }
  | { page: "kv-create"; dc: string; prefix: string }
  | { page: "intentions"; dc: string }
  | { page: "intention-create"; dc: string }
  | { page: "intention-edit"; dc: string; source: string; destination: string }
  | { page: "redirect"; to: Route }
  | { page: "not-found"; dc: string };

const enc = encodeURIComponent;
/** Keys keep their "/" separators in the path; every other character is escaped. */
const encKey = (key: string): string => key.split("/").map(enc).join("/");

function segmentsOf(path: string, base: string): string[] | undefined {
  if (!path.startsWith(base)) return undefined;
  try {
    return path
      .slice(base.length)
      .split("/")
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The page for a location path; `localDc` fills `/ui/`. */
export function parseRoute(path: string, base: string, localDc: string): Route {
  const segs = segmentsOf(path, base);
  if (!segs) return { page: "not-found", dc: localDc };
  const trailingSlash = segs[segs.length - 1] === "";
  const parts = trailingSlash ? segs.slice(0, -1) : segs;
  if (parts.length === 0) return { page: "redirect", to: { page: "services", dc: localDc } };
  const [dc, section, ...rest] = parts;
  if (section === undefined) return { page: "redirect", to: { page: "services", dc } };
  switch (section) {
    case "services":
      if (rest.length === 0) return { page: "services", dc };
      if (rest.length === 1) return { page: "redirect", to: { page: "service-instances", dc, service: rest[0] } };
      if (rest.length === 2 && rest[1] === "instances") return { page: "service-instances", dc, service: rest[0] };
      if (rest.length === 4 && rest[1] === "instances") return { page: "redirect", to: { page: "instance-checks", dc, service: rest[0], node: rest[2], id: rest[3] } };
      if (rest.length === 5 && rest[1] === "instances" && rest[4] === "health-checks") return { page: "instance-checks", dc, service: rest[0], node: rest[2], id: rest[3] };
      break;
    case "nodes":
      if (rest.length === 0) return { page: "nodes", dc };
      if (rest.length === 1) return { page: "redirect", to: { page: "node-checks", dc, node: rest[0] } };
      if (rest.length === 2 && rest[1] === "health-checks") return { page: "node-checks", dc, node: rest[0] };
      break;
    case "intentions": {
      if (rest.length === 0) return { page: "intentions", dc };
      if (rest.length === 1 && rest[0] === "create") return { page: "intention-create", dc };
      const names = rest.length === 1 ? intentionNames(rest[0]) : undefined;
      if (names) return { page: "intention-edit", dc, ...names };
      break;
    }
    case "kv": {
      const last = rest[rest.length - 1];
      if (last === "create") return { page: "kv-create", dc, prefix: folderOf(rest.slice(0, -1)) };
      if (last === "edit" && rest.length > 1) return { page: "kv-edit", dc, key: rest.slice(0, -1).join("/") };
      if (rest.length === 0) return { page: "kv-folder", dc, prefix: "" };
      // Folders always end in "/": a path without one is redirected to it, as Consul's UI does.
      if (!trailingSlash) return { page: "redirect", to: { page: "kv-folder", dc, prefix: folderOf(rest) } };
      return { page: "kv-folder", dc, prefix: folderOf(rest) };
    }
  }
  return { page: "not-found", dc };
}

// An intention's id in the UI is six parts joined by ":", each part URI-encoded:
// SrcPartition:SrcNS:SrcName:DstPartition:DstNS:DstName. This agent has one partition and
// namespace ("default"); any other (or a peer source) is not a page here.
const DEFAULT = "default";

function intentionNames(id: string): { source: string; destination: string } | undefined {
  const parts = id.split(":");
  if (parts.length !== 6) return undefined;
  let decoded: string[];
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  const [sp, sns, source, dp, dns, destination] = decoded;
  const scoped = (p: string | undefined): boolean => p === DEFAULT || p === "" || p === "*";
  if (!scoped(sp) || !scoped(sns) || !scoped(dp) || !scoped(dns) || !source || !destination) return undefined;
  return { source, destination };
}

/** The id segment for an intention; names are encoded twice so a ":" in a name survives the path's decoding. */
export function intentionId(source: string, destination: string): string {
  return [DEFAULT, DEFAULT, source, DEFAULT, DEFAULT, destination].map((p) => enc(enc(p))).join(":");
}

function folderOf(parts: string[]): string {
  return parts.length === 0 ? "" : `${parts.join("/")}/`;
}

/** The path of a page (under `base`, which ends in "/"). */
export function hrefOf(route: Route, base: string): string {
  switch (route.page) {
    case "services":
      return `${base}${enc(route.dc)}/services`;
    case "service-instances":
      return `${base}${enc(route.dc)}/services/${enc(route.service)}/instances`;
    case "instance-checks":
      return `${base}${enc(route.dc)}/services/${enc(route.service)}/instances/${enc(route.node)}/${enc(route.id)}/health-checks`;
    case "nodes":
      return `${base}${enc(route.dc)}/nodes`;
    case "node-checks":
      return `${base}${enc(route.dc)}/nodes/${enc(route.node)}/health-checks`;
    case "kv-folder":
      return `${base}${enc(route.dc)}/kv/${encKey(route.prefix)}`;
    case "kv-edit":
      return `${base}${enc(route.dc)}/kv/${encKey(route.key)}/edit`;
    case "kv-create":
      return `${base}${enc(route.dc)}/kv/${encKey(route.prefix)}create`;
    case "intentions":
      return `${base}${enc(route.dc)}/intentions`;
    case "intention-create":
      return `${base}${enc(route.dc)}/intentions/create`;
    case "intention-edit":
      return `${base}${enc(route.dc)}/intentions/${intentionId(route.source, route.destination)}`;
    case "redirect":
      return hrefOf(route.to, base);
    case "not-found":
      return `${base}${enc(route.dc)}/services`;
  }
}
