import type { Handler } from "../context.ts";
import { errors } from "../../errors/catalog.ts";

// PLACEHOLDER: replaced by the agent endpoints implementation.
const todo: Handler = () => {
  throw errors.internal("not implemented");
};

export const healthHandlers = {
  node: todo, checks: todo, service: todo, connect: todo, ingress: todo, state: todo,
} satisfies Record<string, Handler>;
