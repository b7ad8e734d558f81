import type { Handler } from "../context.ts";
import { errors } from "../../errors/catalog.ts";

// PLACEHOLDER: replaced by the agent endpoints implementation.
const todo: Handler = () => {
  throw errors.internal("not implemented");
};

export const agentServiceHandlers = {
  services: todo, serviceRegister: todo, serviceDeregister: todo, serviceMaintenance: todo, service: todo, healthServiceByName: todo, healthServiceById: todo, checks: todo, checkRegister: todo, checkDeregister: todo, checkPass: todo, checkWarn: todo, checkFail: todo, checkUpdate: todo,
} satisfies Record<string, Handler>;
