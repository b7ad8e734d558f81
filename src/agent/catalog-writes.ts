import { ANONYMOUS_TOKEN_SECRET } from "../acl/builtin.ts";
import { vetCatalogDeregister, vetCatalogRegister } from "../acl/catalog-write-acl.ts";
import type { AclService } from "../acl/service.ts";
import { ConsulError } from "../errors/catalog.ts";
import type { Command } from "../fsm/command.ts";
import type { ApplyReply } from "../server/leader-forwarding.ts";
import type { Consensus } from "../server/consensus.ts";
import type { CatalogTables } from "../state/catalog-tables.ts";

// How the agent's own catalog writes (node registration, anti-entropy, check output) reach
// the catalog. Consul's agent makes them as Catalog.Register/Deregister RPCs carrying a token
// and the server authorises them like any other write. Which token (agent/local/state.go):
//   node info, and every removal     acl.tokens.agent, else the default token (AgentToken())
//   a service or check               its own token, else (config files) the config-file
//                                    registration token, else the default (sync-token.ts)
// "" stands for anonymous. A client agent sends the write to a server
// (ServerDelegate.writeCatalog); a server's agent vets it against its own tables, as it would
// the RPC, and proposes it.

export interface CatalogWrites {
  /** Proposes one of the agent's own catalog writes made with `token` (a secret; "" = anonymous). */
  write(cmd: Command, token: string): Promise<ApplyReply>;
  /** The token for node info and removals (Consul's AgentToken(): agent, else default). */
  agentToken(): string;
  /**
   * The AccessorID of a token this agent wrote with, for the "blocked by ACLs" warnings
   * (Consul's aclAccessorID): "" when it does not resolve. Never the secret.
   */
  accessorOf(token: string): Promise<string>;
}

/** ACLs off: every write is proposed as is, with no token. */
export function unauthenticatedCatalogWrites(consensus: Consensus): CatalogWrites {
  return { write: (cmd) => consensus.propose(cmd), agentToken: () => "", accessorOf: () => Promise.resolve("") };
}

/** A server's agent: vetted against this server's own tables (servers decide), then proposed. */
export function serverCatalogWrites(consensus: Consensus, catalog: CatalogTables, acl: AclService): CatalogWrites {
  return {
    async write(cmd, token) {
      const secret = token === "" ? ANONYMOUS_TOKEN_SECRET : token;
      const authz = (await acl.resolveSecretPending(secret)) ?? acl.resolveSecret(secret);
      if (cmd.Type === "catalog-register") vetCatalogRegister(authz, catalog, cmd);
      else if (cmd.Type === "catalog-deregister") vetCatalogDeregister(authz, catalog, cmd);
      return consensus.propose(cmd);
    },
    agentToken: () => acl.agentSecret(),
    accessorOf: (token) => acl.accessorIdOf(token),
  };
}

/** A client agent: the server the write is sent to decides. */
export function clientCatalogWrites(send: (cmd: Command, token: string) => Promise<ApplyReply>, acl: AclService | undefined): CatalogWrites {
  return {
    write: send,
    agentToken: () => acl?.agentSecret() ?? "",
    accessorOf: (token) => acl?.accessorIdOf(token) ?? Promise.resolve(""),
  };
}

/** A write the servers refused for its token (Consul's IsErrPermissionDenied / IsErrNotFound on ACLs). */
export function isAclRefusal(err: unknown): err is ConsulError {
  return err instanceof ConsulError && (err.code === "PermissionDenied" || err.code === "AclNotFound");
}
