import type { Handler } from "../context.ts";
import { errors } from "../../errors/catalog.ts";

// PLACEHOLDER: replaced by the agent endpoints implementation.
const todo: Handler = () => {
  throw errors.internal("not implemented");
};

export const agentOpsHandlers = {
  self: todo, members: todo, host: todo, version: todo, metrics: todo, reload: todo, maintenance: todo, join: todo, leave: todo, forceLeave: todo, token: todo,
} satisfies Record<string, Handler>;
