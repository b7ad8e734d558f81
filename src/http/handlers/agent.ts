import type { Handler } from "../context.ts";
import { errors } from "../../errors/catalog.ts";

// PLACEHOLDER: replaced by the agent endpoints implementation.
const todo: Handler = () => {
  throw errors.internal("not implemented");
};

export const agentHandlers = {
  self: todo, members: todo, host: todo, version: todo, metrics: todo, reload: todo, maintenance: todo,
  join: todo, leave: todo, forceLeave: todo, token: todo, services: todo, serviceRegister: todo,
  serviceDeregister: todo, serviceMaintenance: todo, service: todo, healthServiceByName: todo,
  healthServiceById: todo, checks: todo, checkRegister: todo, checkDeregister: todo, checkPass: todo,
  checkWarn: todo, checkFail: todo, checkUpdate: todo,
} satisfies Record<string, Handler>;
