// Bundles the TypeScript sources into dist/ with esbuild so the agent starts without a
// TypeScript loader: tsx on Node 20 costs ~0.2 s and ~35 MB of RSS at start-up, which put
// `consulate agent -dev` over its start-up and idle-memory budgets. Dependencies stay
// external (node_modules). Runs on `npm ci` (prepare) and before `npm start`.
//
// It also builds the web UI (ui/) into dist/ui: content-hashed assets under assets/ (served
// as immutable), index.html as a template the agent fills in (content path, UI config), and
// a .gz and .br copy of every text file so the agent never compresses per request.
//
// And it writes the library's type declarations (dist/types, package.json "types"): a
// consumer's strict tsc cannot read our `.ts` sources (TS5097 without allowImportingTsExtensions).
// Each file reachable from src/mod.ts's declarations is transpiled on its own
// (ts.transpileDeclaration: no whole-program type check, so ~1 s instead of ~30 s), and
// relative `.ts` specifiers become `.js`, which NodeNext resolves to the `.d.ts` beside them.
//
//   node scripts/build.mjs                                  bundles, UI and declarations
//   node scripts/build.mjs --types-only [--types-out=DIR]   declarations only (tests)
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const typesOnly = process.argv.includes("--types-only");
const typesOut = resolve(root, process.argv.find((a) => a.startsWith("--types-out="))?.slice("--types-out=".length) ?? "dist/types");
await emitDeclarations(join(root, "src", "mod.ts"), typesOut);
if (typesOnly) process.exit(0);

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

async function emitDeclarations(entry, outDir) {
  const { default: ts } = await import("typescript");
  const srcDir = dirname(entry);
  const options = { allowImportingTsExtensions: true, module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true };
  const outputs = new Map();
  const queue = [entry];
  const problems = [];
  while (queue.length > 0) {
    const file = queue.shift();
    if (outputs.has(file)) continue;
    const result = ts.transpileDeclaration(readFileSync(file, "utf8"), { fileName: file, compilerOptions: options, reportDiagnostics: true });
    for (const d of result.diagnostics ?? []) problems.push(`${relative(root, file)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    const text = result.outputText.replace(/((?:from |import\()["'])(\.{1,2}\/[^"']+)\.ts(["'])/g, "$1$2.js$3");
    outputs.set(file, text);
    for (const m of result.outputText.matchAll(/(?:from |import\()["'](\.{1,2}\/[^"']+\.ts)["']/g)) queue.push(resolve(dirname(file), m[1]));
  }
  // A declaration that needs inference is not written half right: the build fails instead.
  if (problems.length > 0) throw new Error(`type declarations:\n${problems.join("\n")}`);
  rmSync(outDir, { recursive: true, force: true });
  for (const [file, text] of outputs) {
    const target = join(outDir, relative(srcDir, file)).replace(/\.ts$/, ".d.ts");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}
