// Bundles the TypeScript sources into dist/ with esbuild so the agent starts without a
// TypeScript loader: tsx on Node 20 costs ~0.2 s and ~35 MB of RSS at start-up, which put
// `consulate agent -dev` over its start-up and idle-memory budgets. Dependencies stay
// external (node_modules). Runs on `npm ci` (prepare) and before `npm start`.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

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
