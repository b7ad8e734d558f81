import type { CatalogRegisterCommand, CheckFields, NodeFields, ServiceFields } from "../../../src/fsm/command.ts";
import { StateMachine } from "../../../src/fsm/apply.ts";
import type { CheckStatus } from "../../../src/model/catalog.ts";
import { StateStore } from "../../../src/state/store.ts";

// Builders for catalog rows and register commands, shared by the DNS unit and integration tests.

export function nodeFields(name: string, address: string, meta: Record<string, string> | null = null): NodeFields {
  return { ID: "", Node: name, Address: address, Datacenter: "dc1", TaggedAddresses: null, Meta: meta };
}

export function serviceFields(id: string, name: string, fields: Partial<ServiceFields> = {}): ServiceFields {
  return {
    ID: id,
    Service: name,
    Tags: [],
    Address: "",
    Meta: null,
    Port: 8080,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: {},
    Connect: {},
    ...fields,
  };
}

export function checkFields(node: string, checkId: string, status: CheckStatus, serviceId = "", serviceName = ""): CheckFields {
  return {
    Node: node,
    CheckID: checkId,
    Name: checkId,
    Status: status,
    Notes: "",
    Output: "",
    ServiceID: serviceId,
    ServiceName: serviceName,
    ServiceTags: [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
  };
}

export interface InstanceSpec {
  node: string;
  nodeAddress: string;
  nodeMeta?: Record<string, string> | null;
  service?: ServiceFields;
  /** Status of a service-level check; omitted = no service check. */
  serviceCheck?: CheckStatus;
  /** Status of the node's serfHealth check; omitted = passing. */
  nodeCheck?: CheckStatus;
}

export function registerCommand(spec: InstanceSpec): CatalogRegisterCommand {
  const checks: CheckFields[] = [checkFields(spec.node, "serfHealth", spec.nodeCheck ?? "passing")];
  if (spec.service && spec.serviceCheck) {
    checks.push(checkFields(spec.node, `service:${spec.service.ID}`, spec.serviceCheck, spec.service.ID, spec.service.Service));
  }
  return {
    Type: "catalog-register",
    Node: nodeFields(spec.node, spec.nodeAddress, spec.nodeMeta ?? null),
    SkipNodeUpdate: false,
    Service: spec.service,
    Checks: checks,
  };
}

/** A state store populated through the FSM, as replicated state is. */
export class CatalogFixture {
  readonly state = new StateStore();
  readonly #fsm = new StateMachine(this.state);
  #index = 0;

  register(spec: InstanceSpec): this {
    const result = this.#fsm.apply(++this.#index, registerCommand(spec));
    if (!result.ok) throw new Error(result.error);
    return this;
  }

  registerCheck(node: string, check: CheckFields): this {
    const n = this.state.catalog.getNode(node);
    if (!n) throw new Error(`no node ${node}`);
    const result = this.#fsm.apply(++this.#index, {
      Type: "catalog-register",
      Node: { ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta },
      SkipNodeUpdate: true,
      Checks: [check],
    });
    if (!result.ok) throw new Error(result.error);
    return this;
  }
}
