import type { AclService } from "../acl/service.ts";
import { RemoteExecutor } from "../agent/remote-exec.ts";
import type { HttpContext } from "../http/context.ts";

// disable_remote_exec = false: `_rexec` events run jobs through this agent's own dispatcher
// (set up by the Connect wiring), acting with its agent token.
export function startRemoteExec(ctx: HttpContext, acl: AclService | undefined): RemoteExecutor {
  const request = ctx.internalRequest;
  if (!request) throw new Error("remote exec needs the agent's internal request path");
  return new RemoteExecutor({
    nodeName: ctx.settings.nodeName,
    clock: ctx.clock,
    logger: ctx.logger.named("agent"),
    request,
    agentToken: () => acl?.agentSecret() ?? "",
    shell: process.env.SHELL || "/bin/sh",
  });
}
