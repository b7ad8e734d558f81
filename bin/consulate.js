#!/usr/bin/env node
// Launcher. Runs the prebuilt bundle (dist/, made by `npm ci` / `npm run build`) when it is
// at least as new as every source file; otherwise runs the TypeScript sources through tsx,
// so a stale bundle never runs old code.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = join(root, "dist", "consulate.mjs");

function newestSourceMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSourceMs(join(root, "src"))) {
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
