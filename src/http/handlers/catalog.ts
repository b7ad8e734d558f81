import type { Handler } from "../context.ts";
import { errors } from "../../errors/catalog.ts";

// PLACEHOLDER: replaced by the agent endpoints implementation.
const todo: Handler = () => {
  throw errors.internal("not implemented");
};

export const catalogHandlers = {
  register: todo, deregister: todo, datacenters: todo, nodes: todo, services: todo, service: todo, connect: todo, node: todo, nodeServices: todo, gatewayServices: todo,
} satisfies Record<string, Handler>;
