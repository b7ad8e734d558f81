import type { Logger } from "../runtime/logger.ts";
import type { AgentIdentity } from "./agent.ts";
import { keyringOperator, KeyringPool, type KeyringOperator } from "./keyring-query.ts";
import { LocalKeyring } from "./local-keyring.ts";
import { GossipMembership, type Membership } from "./membership.ts";

// Which keyring pools an agent takes part in: every agent answers key queries in its LAN pool;
// a server also runs operations (the keyring endpoint) over its WAN pool and its LAN pool.

/** Starts answering key queries; returns the operations a server runs, undefined on a client agent. */
export function keyringOperatorFor(
  identity: AgentIdentity,
  lanKeyring: LocalKeyring,
  lan: Membership,
  wan: Membership | undefined,
  wanKeyring: LocalKeyring | undefined,
  logger: Logger,
): KeyringOperator | undefined {
  const pools: KeyringPool[] = [];
  if (wan) {
    pools.push(
      new KeyringPool({
        wan: true,
        datacenter: identity.datacenter,
        nodeName: `${identity.nodeName}.${identity.datacenter}`,
        membership: wan,
        streams: wan instanceof GossipMembership ? wan : undefined,
        // Absent only for a pool of one (no configuration), which gossips unencrypted.
        local: wanKeyring ?? new LocalKeyring({ keyring: undefined, file: undefined }),
        logger: logger.named("agent.server.serf.wan"),
      }),
    );
  }
  pools.push(
    new KeyringPool({
      wan: false,
      datacenter: identity.datacenter,
      nodeName: identity.nodeName,
      membership: lan,
      streams: lan instanceof GossipMembership ? lan : undefined,
      local: lanKeyring,
      logger: logger.named("agent.client.serf.lan"),
    }),
  );
  return identity.server ? keyringOperator(pools) : undefined;
}
