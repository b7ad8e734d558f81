import { join } from "node:path";
import { nodeFileSystem, type FileSystem } from "./file-system.ts";

// `<data-dir>/acl-bootstrap-reset`: an operator writes the reset index there on the leader to
// allow one more ACL bootstrap (spec/acl.md §5). The leader reads it on a bootstrap request
// and removes it once a bootstrap with that index succeeded.

export const ACL_BOOTSTRAP_RESET_FILE = "acl-bootstrap-reset";

export interface AclBootstrapResetFile {
  /** The index written in the file; 0 when there is no file or it holds no whole number. */
  read(): Promise<number>;
  remove(): Promise<void>;
}

export function aclBootstrapResetFile(dataDir: string, fs: FileSystem = nodeFileSystem): AclBootstrapResetFile {
  const path = join(dataDir, ACL_BOOTSTRAP_RESET_FILE);
  return {
    async read() {
      const bytes = await fs.read(path);
      if (bytes === undefined) return 0;
      const text = new TextDecoder().decode(bytes).trim();
      return /^\d+$/.test(text) ? Number(text) : 0;
    },
    async remove() {
      await fs.remove(path);
    },
  };
}
