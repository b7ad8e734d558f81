import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";
import type { UiFiles } from "../storage/ui-assets.ts";
import type { RawApiResponse } from "./dispatch-request.ts";

// Serves the web UI under its content path (spec/ui.md §1): files as they are, any other path
// under it as index.html (the app routes on the client), `/` → 301 to the content path.
// Beyond Consul: every file is sent gzip- or brotli-compressed when the client accepts it
// (precompressed at build time), hashed asset names are cached for good while index.html is
// revalidated, and a strict Content-Security-Policy keeps the page to its own origin.

/** What the index page's `data-consul-ui-config` JSON carries (Consul's CE keys). */
export interface UiSiteConfig {
  contentPath: string;
  datacenter: string;
  primaryDatacenter: string;
  aclsEnabled: boolean;
}

interface Encoded {
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

interface Asset extends Encoded {
  contentType: string;
  cacheControl: string;
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  woff2: "font/woff2",
};
const COMPRESSIBLE = new Set(["html", "js", "mjs", "css", "json", "map", "svg", "txt", "ico"]);

function extensionOf(path: string): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  return dot > slash ? path.slice(dot + 1).toLowerCase() : "";
}

/** Files under assets/ carry a content hash in their name (scripts/build.mjs), so never change. */
function cacheControlFor(path: string): string {
  return path.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
}

function compress(body: Buffer): Encoded {
  return {
    identity: body,
    gzip: gzipSync(body, { level: 9 }),
    br: brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  };
}

/** JSON safe inside a <script> element: no "</script>" or "<!--" can close or confuse it. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/** The encoding to send: brotli, then gzip, when Accept-Encoding allows it (q=0 refuses). */
export function pickEncoding(acceptEncoding: string | undefined): "br" | "gzip" | undefined {
  if (!acceptEncoding) return undefined;
  const accepted = new Set<string>();
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (q !== undefined && Number(q.slice(2)) <= 0) continue;
    accepted.add(name.trim());
  }
  if (accepted.has("br")) return "br";
  if (accepted.has("gzip") || accepted.has("*")) return "gzip";
  return undefined;
}

export class UiSite {
  readonly contentPath: string;
  readonly #assets = new Map<string, Asset>();
  readonly #index: Asset | undefined;

  /** `builtIn`: the bundle from scripts/build.mjs (index.html is a template); else a plain directory (ui_config.dir). */
  constructor(files: UiFiles, config: UiSiteConfig, options: { builtIn: boolean }) {
    this.contentPath = config.contentPath;
    for (const [path, bytes] of files) {
      const ext = extensionOf(path);
      if ((ext === "gz" || ext === "br") && files.has(path.slice(0, -ext.length - 1))) continue;
      const identity = Buffer.from(bytes);
      const precompressed: Encoded = { identity };
      const gz = files.get(`${path}.gz`);
      const br = files.get(`${path}.br`);
      if (gz) precompressed.gzip = Buffer.from(gz);
      if (br) precompressed.br = Buffer.from(br);
      const encoded = gz || br || !COMPRESSIBLE.has(ext) ? precompressed : compress(identity);
      this.#assets.set(path, { ...encoded, contentType: TYPES[ext] ?? "application/octet-stream", cacheControl: cacheControlFor(path) });
    }
    const template = this.#assets.get("index.html");
    if (template && options.builtIn) {
      const page = template.identity
        .toString("utf8")
        .replaceAll("{{ContentPath}}", config.contentPath)
        .replace("{{UIConfig}}", scriptSafeJson(consulUiConfig(config)));
      this.#index = { ...compress(Buffer.from(page)), contentType: TYPES.html, cacheControl: "no-cache" };
      this.#assets.set("index.html", this.#index);
    } else this.#index = template;
  }

  /** The answer for a path outside /v1/, or undefined when the UI does not serve it. */
  answer(method: string, path: string, acceptEncoding: string | undefined): RawApiResponse | undefined {
    const base = this.contentPath;
    if (path === "/" || path === base.slice(0, -1)) return redirect(base);
    let rel: string;
    if (path === "/robots.txt") rel = "robots.txt";
    else if (path.startsWith(base)) {
      try {
        rel = decodeURIComponent(path.slice(base.length));
      } catch {
        rel = "";
      }
    } else return undefined;
    if (method !== "GET" && method !== "HEAD") {
      return { status: 405, headers: { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" }, body: "Method Not Allowed" };
    }
    if (rel === "index.html") return redirect("./");
    const asset = this.#assets.get(rel) ?? (path === "/robots.txt" ? undefined : this.#index);
    if (!asset) return { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "404 page not found\n" };
    const encoding = pickEncoding(acceptEncoding);
    const body = (encoding && asset[encoding]) || asset.identity;
    const headers: Record<string, string> = {
      "Content-Type": asset.contentType,
      "Cache-Control": asset.cacheControl,
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      Vary: "Accept-Encoding",
    };
    if (body !== asset.identity && encoding) headers["Content-Encoding"] = encoding;
    return { status: 200, headers, body };
  }
}

function redirect(location: string): RawApiResponse {
  return { status: 301, headers: { Location: location, "Content-Type": "text/html; charset=utf-8" }, body: `<a href="${escapeHtml(location)}">Moved Permanently</a>.\n\n` };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function consulUiConfig(config: UiSiteConfig): Record<string, unknown> {
  return {
    ContentPath: config.contentPath,
    ACLsEnabled: config.aclsEnabled,
    HCPEnabled: false,
    LocalDatacenter: config.datacenter,
    PrimaryDatacenter: config.primaryDatacenter,
    PeeringEnabled: false,
    UIConfig: { metrics_provider: "", metrics_proxy_enabled: false, dashboard_url_templates: null, hcp_enabled: false },
  };
}
