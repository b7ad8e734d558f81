import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

// `<data-dir>/acl-tokens.json`: the agent tokens set through /v1/agent/token/* when
// acl.enable_token_persistence is on, in Consul's layout ({"default": "…", "agent": "…", …},
// empty ones left out; the legacy "agent_master" key is read as agent_recovery). Written
// atomically (temp file, fsync, rename, fsync of the directory) and readable only by the owner,
// since it holds secrets.

export const ACL_TOKENS_FILE = "acl-tokens.json";

const KEYS = ["default", "agent", "agent_recovery", "replication", "config_file_service_registration", "dns"] as const;
export type PersistedAgentTokens = Partial<Record<(typeof KEYS)[number], string>>;

export class AclTokenFileError extends Error {
  override readonly name = "AclTokenFileError";
}

/** The persisted tokens; {} when there is no file. A file that is not Consul's JSON object is an error. */
export async function loadAgentTokens(dataDir: string): Promise<PersistedAgentTokens> {
  const path = join(dataDir, ACL_TOKENS_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new AclTokenFileError(`failed reading tokens file ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text) as unknown;
  } catch (err) {
    throw new AclTokenFileError(`failed to decode tokens file ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new AclTokenFileError(`failed to decode tokens file ${JSON.stringify(path)}: not a JSON object`);
  }
  const object = raw as Record<string, unknown>;
  const out: PersistedAgentTokens = {};
  for (const key of KEYS) if (typeof object[key] === "string" && object[key] !== "") out[key] = object[key];
  if (out.agent_recovery === undefined && typeof object.agent_master === "string" && object.agent_master !== "") out.agent_recovery = object.agent_master;
  return out;
}

export async function saveAgentTokens(dataDir: string, tokens: PersistedAgentTokens): Promise<void> {
  const path = join(dataDir, ACL_TOKENS_FILE);
  const body: PersistedAgentTokens = {};
  for (const key of KEYS) if (tokens[key] !== undefined && tokens[key] !== "") body[key] = tokens[key];
  const tmp = `${path}.tmp`;
  const file = await open(tmp, "w", 0o600);
  try {
    await file.writeFile(JSON.stringify(body));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dataDir, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
