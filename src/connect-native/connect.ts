// The SDK's entry object, shaped after Consul's Go `connect` package:
//   const svc = await connect.service("db", { agent: "http://127.0.0.1:8500", token });
import { ConnectService, type ConnectServiceOptions } from "./service.ts";

export const connect = {
  /** Loads the service's leaf and the CA roots from the agent, then keeps them fresh. */
  service(name: string, options: ConnectServiceOptions = {}): Promise<ConnectService> {
    return ConnectService.create(name, options);
  },
} as const;

export { ConnectService };
export type { ConnectServiceOptions, DialOptions } from "./service.ts";
export type { MeshFetchInit } from "./mesh-fetch.ts";
export type { AuthorizeDecision } from "../connect/mesh/authorize-cache.ts";
export { ConnectError, type ConnectErrorCode } from "../errors/connect-errors.ts";
