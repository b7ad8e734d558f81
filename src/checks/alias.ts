import type { CheckStatus } from "../model/catalog.ts";
import type { CheckDefinition } from "./definition.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import type { CheckResult } from "./status-thresholds.ts";

// Alias checks (Consul's checks.CheckAlias): mirror the health of another service instance
// (AliasService, a service *ID*) and/or node (AliasNode). Without AliasNode the target is on
// this agent and its local state is watched; with AliasNode the catalog rows of that node are
// watched. Either way the check re-evaluates when its target changes — no polling.

/** The fields of a health check an alias judges. */
export interface AliasedCheck {
  Node: string;
  CheckID: string;
  ServiceID: string;
  Name: string;
  Status: string;
  Output: string;
}

export interface AliasView {
  checks: readonly AliasedCheck[];
  /** Whether the aliased service exists at all (asked only when none of its checks are). */
  serviceExists: boolean;
}

/** Where an alias reads its target; the agent implements it over local state and the catalog. */
export interface AliasTargets {
  /** Reads the target now and calls `wake` once after its next change; `cancel` drops the watch. */
  observe(node: string, serviceId: string, wake: () => void): { view: AliasView; cancel: () => void };
}

/** Consul's processChecks: any critical wins, then any warning, else passing. */
export function aliasResult(node: string, serviceId: string, view: AliasView): CheckResult {
  let status: CheckStatus = "passing";
  let output = "No checks found.";
  let serviceFound = false;
  for (const chk of view.checks) {
    if (node !== "" && node.toLowerCase() !== chk.Node.toLowerCase()) continue;
    const serviceMatch = chk.ServiceID === serviceId;
    if (chk.ServiceID !== "" && !serviceMatch) continue;
    if (serviceMatch) serviceFound = true;
    if (chk.Status === "critical" || chk.Status === "warning") {
      status = chk.Status;
      output = `Aliased check ${JSON.stringify(chk.Name)} failing: ${chk.Output}`;
      if (chk.Status === "critical") break;
    } else if (status === "passing") {
      output = "All checks passing.";
    }
  }
  if (!serviceFound && !view.serviceExists) {
    return { status: "critical", output: `Service ${serviceId} could not be found on node ${node}` };
  }
  return { status, output };
}

class AliasCheck implements RunningCheck {
  readonly checkId: string;
  readonly kind = "alias" as const;
  readonly #node: string;
  readonly #serviceId: string;
  readonly #targets: AliasTargets;
  readonly #ctx: CheckRunContext;
  #cancel: (() => void) | undefined;
  #queued = false;
  #stopped = false;

  constructor(checkId: string, def: CheckDefinition, targets: AliasTargets, ctx: CheckRunContext) {
    this.checkId = checkId;
    this.#node = def.aliasNode;
    this.#serviceId = def.aliasService;
    this.#targets = targets;
    this.#ctx = ctx;
    this.#evaluate();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #wake(): void {
    // One evaluation per burst of changes, and never inside the notifier's own call stack
    // (our own status update notifies the same watchers).
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.#evaluate();
    });
  }

  #evaluate(): void {
    if (this.#stopped) return;
    this.#cancel?.();
    const { view, cancel } = this.#targets.observe(this.#node, this.#serviceId, () => this.#wake());
    this.#cancel = cancel;
    // The alias itself is among the local checks; it must not judge itself.
    const others = { ...view, checks: view.checks.filter((c) => c.CheckID !== this.checkId) };
    const result = aliasResult(this.#node, this.#serviceId, others);
    this.#ctx.sink.updateCheckStatus(this.checkId, result.status, result.output);
  }
}

export function aliasRunner(targets: AliasTargets): CheckRunner {
  return {
    kind: "alias",
    start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
      return new AliasCheck(checkId, def, targets, ctx);
    },
  };
}
