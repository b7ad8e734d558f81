// Bundles the TypeScript sources into dist/ with esbuild so the agent starts without a
// TypeScript loader: tsx on Node 20 costs ~0.2 s and ~35 MB of RSS at start-up, which put
// `consulate agent -dev` over its start-up and idle-memory budgets. Dependencies stay
// external (node_modules). Runs on `npm ci` (prepare) and before `npm start`.
//
// It also builds the web UI (ui/) into dist/ui: content-hashed assets under assets/ (served
// as immutable), index.html as a template the agent fills in (content path, UI config), and
// a .gz and .br copy of every text file so the agent never compresses per request.
import { build } from "esbuild";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: { consulate: "src/cli/main.ts", mod: "src/mod.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
});

const uiOut = join(root, "dist", "ui");
await rm(uiOut, { recursive: true, force: true });
const ui = await build({
  absWorkingDir: root,
  entryPoints: { app: "ui/src/main.tsx" },
  outdir: uiOut,
  entryNames: "assets/[name]-[hash]",
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

// The hashed names of the entry's script and stylesheet, for the index template.
const outputs = Object.entries(ui.metafile.outputs).map(([path, meta]) => ({ path: relative(uiOut, join(root, path)).replace(/\\/g, "/"), meta }));
const script = outputs.find((o) => o.meta.entryPoint && o.path.endsWith(".js"));
const style = outputs.find((o) => o.path.endsWith(".css"));
if (!script || !style) throw new Error("ui build: missing script or stylesheet output");
const template = await readFile(join(root, "ui", "index.html"), "utf8");
await writeFile(join(uiOut, "index.html"), template.replace("{{Script}}", script.path).replace("{{Style}}", style.path));
await writeFile(join(uiOut, "favicon.svg"), await readFile(join(root, "ui", "favicon.svg")));
await writeFile(join(uiOut, "robots.txt"), "User-agent: *\nDisallow: /\n");

const COMPRESSIBLE = /\.(html|js|css|json|svg|txt)$/;
for (const entry of await readdir(uiOut, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !COMPRESSIBLE.test(entry.name)) continue;
  const path = join(entry.parentPath, entry.name);
  const body = await readFile(path);
  await writeFile(`${path}.gz`, gzipSync(body, { level: 9 }));
  await writeFile(`${path}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}
