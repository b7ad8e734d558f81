import type { RuntimeConfig } from "../config/runtime-config.ts";
import type { Logger } from "../runtime/logger.ts";
import { lanKeyringPath, readKeyringFile, wanKeyringPath, writeKeyringFile } from "../storage/keyring-file.ts";
import { GossipKeyError, Keyring } from "../transport/gossip-crypto.ts";

// Which keys a gossip pool starts with (Consul's setupBaseKeyrings; the WAN pool of a server
// has its own file, serf/remote.keyring, seeded the same way). The keyring file is the
// source of truth once it exists: `-encrypt` only seeds it on the first start, and a later
// `-encrypt` the file lacks is ignored with a warning, because key rotation (consul keyring)
// changes the file and not the agent's flags. With disable_keyring_file (the -dev default),
// or without a data dir, the keyring is `-encrypt` alone and lives only in memory.

export type KeyringSettings = Pick<RuntimeConfig, "encryptKey" | "dataDir" | "disableKeyringFile" | "inMemory">;

export interface PoolKeyring {
  /** Undefined when gossip runs unencrypted. */
  keyring: Keyring | undefined;
  /** Where changes are saved; undefined when they stay in memory. */
  file: string | undefined;
}

export const MISSING_ENCRYPT_KEY_WARNING = "keyring doesn't include key provided with -encrypt, using keyring";

export class KeyringSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyringSetupError";
  }
}

export function loadLanKeyring(settings: KeyringSettings, logger: Logger): Promise<PoolKeyring> {
  return loadKeyring(settings, logger, "LAN");
}

export function loadWanKeyring(settings: KeyringSettings, logger: Logger): Promise<PoolKeyring> {
  return loadKeyring(settings, logger, "WAN");
}

async function loadKeyring(settings: KeyringSettings, logger: Logger, pool: "LAN" | "WAN"): Promise<PoolKeyring> {
  const encrypt = settings.encryptKey;
  if (settings.disableKeyringFile || settings.dataDir === "" || settings.inMemory) {
    return { keyring: encrypt !== "" ? new Keyring([encrypt]) : undefined, file: undefined };
  }
  const file = pool === "LAN" ? lanKeyringPath(settings.dataDir) : wanKeyringPath(settings.dataDir);
  let stored = await readKeyringFile(file);
  const existed = stored !== undefined;
  if (!existed && encrypt !== "") {
    await writeKeyringFile(file, [encrypt]);
    stored = [encrypt];
  }
  if (stored === undefined) return { keyring: undefined, file: undefined };
  let keyring: Keyring;
  try {
    keyring = new Keyring(stored);
  } catch (err) {
    if (err instanceof GossipKeyError) throw new KeyringSetupError(`Failed to configure keyring: ${file}: ${err.message}`);
    throw err;
  }
  if (existed && encrypt !== "" && !keyring.keys().includes(canonicalBase64(encrypt))) {
    logger.warn(MISSING_ENCRYPT_KEY_WARNING, { keyring: pool });
  }
  return { keyring, file };
}

function canonicalBase64(key: string): string {
  return Buffer.from(key, "base64").toString("base64");
}
