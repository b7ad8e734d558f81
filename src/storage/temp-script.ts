import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A remote exec script (`consulate exec -` reads one from stdin) is spilled to a private
// temporary file so the shell runs it as a file, as Consul's agent does; the file and its
// directory are removed once the job ends.

export interface TempScript {
  readonly path: string;
  remove(): Promise<void>;
}

export async function writeTempScript(script: Uint8Array): Promise<TempScript> {
  const dir = await mkdtemp(join(tmpdir(), "rexec-"));
  const path = join(dir, "script");
  await writeFile(path, script, { mode: 0o750 });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
