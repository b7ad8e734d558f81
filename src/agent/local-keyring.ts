import type { Keyring } from "../transport/gossip-crypto.ts";
import { writeKeyringFile } from "../storage/keyring-file.ts";
import type { PoolKeyring } from "./keyring-setup.ts";

// One node's part of a keyring operation (serf's handling of its internal key queries): list
// the installed keys, or install / make primary / remove one with memberlist's rules and
// messages, then save the keyring file. The Keyring object is the one the gossip transport
// encrypts with, so a change applies to the next packet. Key material never reaches a log.

export const KeyringOp = { list: "list", install: "install", use: "use", remove: "remove" } as const;
export type KeyringOp = (typeof KeyringOp)[keyof typeof KeyringOp];

const KEYRING_OPS: ReadonlySet<unknown> = new Set(Object.values(KeyringOp));

export function isKeyringOp(value: unknown): value is KeyringOp {
  return KEYRING_OPS.has(value);
}

/** One node's answer, with serf's nodeKeyResponse fields. */
export interface NodeKeyResponse {
  Result: boolean;
  Message: string;
  /** Installed keys (list only), primary first. */
  Keys: string[];
  /** The primary key (list only), "" otherwise. */
  PrimaryKey: string;
}

export type KeyringWriter = (path: string, keys: readonly string[]) => Promise<void>;

const VALID_KEY_BYTES = new Set([16, 24, 32]);

function failure(message: string): NodeKeyResponse {
  return { Result: false, Message: message, Keys: [], PrimaryKey: "" };
}

const SUCCESS: NodeKeyResponse = { Result: true, Message: "", Keys: [], PrimaryKey: "" };

export class LocalKeyring {
  readonly #keyring: Keyring | undefined;
  readonly #file: string | undefined;
  readonly #write: KeyringWriter;
  /** Operations run one at a time, so file writes land in the order the keyring changed. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(source: PoolKeyring, write: KeyringWriter = writeKeyringFile) {
    this.#keyring = source.keyring;
    this.#file = source.file;
    this.#write = write;
  }

  get keyring(): Keyring | undefined {
    return this.#keyring;
  }

  /** Runs one operation; `key` is base64 (ignored by list). Never throws: failures are answers. */
  handle(op: KeyringOp, key: string): Promise<NodeKeyResponse> {
    const run = this.#queue.then(() => this.#handle(op, key));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #handle(op: KeyringOp, key: string): Promise<NodeKeyResponse> {
    const keyring = this.#keyring;
    if (!keyring) {
      return failure(op === KeyringOp.list ? "Keyring is empty (encryption not enabled)" : "No keyring to modify (encryption not enabled)");
    }
    if (op === KeyringOp.list) return { Result: true, Message: "", Keys: keyring.keys(), PrimaryKey: keyring.primaryKey };
    const raw = Buffer.from(key, "base64");
    const canonical = raw.toString("base64");
    const installed = keyring.keys().includes(canonical);
    switch (op) {
      case KeyringOp.install:
        if (!VALID_KEY_BYTES.has(raw.length)) return failure("key size must be 16, 24 or 32 bytes");
        if (installed) return SUCCESS;
        keyring.addKey(canonical);
        break;
      case KeyringOp.use:
        if (!installed) return failure("Requested key is not in the keyring");
        if (keyring.primaryKey === canonical) return SUCCESS;
        keyring.useKey(canonical);
        break;
      case KeyringOp.remove:
        if (keyring.primaryKey === canonical) return failure("Removing the primary key is not allowed");
        // memberlist: removing a key that is not installed succeeds and changes nothing.
        if (!installed) return SUCCESS;
        keyring.removeKey(canonical);
        break;
    }
    if (this.#file === undefined) return SUCCESS;
    try {
      await this.#write(this.#file, keyring.keys());
    } catch (err) {
      return failure(`Failed to write keyring file: ${err instanceof Error ? err.message : String(err)}`);
    }
    return SUCCESS;
  }
}
