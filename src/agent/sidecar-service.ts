import { emptyCheckDefinition, type CheckDefinition } from "../checks/definition.ts";
import { errors } from "../errors/catalog.ts";
import type { ServiceFields } from "../fsm/command.ts";
import { SIDECAR_PROXY_SUFFIX } from "./service-definition.ts";

// What the agent fills in for a sidecar registered through `Connect.SidecarService`, because it
// depends on what else this agent has registered (Consul's addServiceLocked and
// sidecarPortFromServiceIDLocked / sidecarDefaultChecks).

/** `ports.sidecar_min_port` / `sidecar_max_port`; either below 1 disables auto-assignment. */
export interface SidecarPortRange {
  min: number;
  max: number;
}

export const DEFAULT_SIDECAR_PORT_RANGE: SidecarPortRange = { min: 21000, max: 21255 };

const SIDECAR_CHECK_INTERVAL_MS = 10_000;

/**
 * The lowest port of the range no other local service uses; a sidecar re-registered with an
 * auto-assigned port keeps it. Refused (500) with Consul's text when the range is disabled or full.
 */
export function assignSidecarPort(sidecarId: string, services: readonly ServiceFields[], range: SidecarPortRange): number {
  const inRange = (p: number): boolean => p >= range.min && p <= range.max;
  if (range.min > 0 && range.max - range.min + 1 > 0) {
    const used = new Set<number>();
    for (const s of services) {
      if (!inRange(s.Port)) continue;
      if (s.ID === sidecarId) return s.Port;
      used.add(s.Port);
    }
    for (let p = range.min; p <= range.max; p++) if (!used.has(p)) return p;
  }
  if (range.min < 1 || range.max < 1) throw errors.internal("no port provided for sidecar_service and auto-assignment disabled in config");
  throw errors.internal(`no port provided for sidecar_service and none left in the configured range [${range.min}, ${range.max}]`);
}

/** host:port as Go's net.JoinHostPort writes it (IPv6 in brackets). */
function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The two checks a sidecar gets when its registration names none: a TCP check on the proxy's
 * own address (the sidecar's address, else the local service address it fronts) every 10s, and
 * an alias of the parent service.
 */
export function sidecarDefaultChecks(sidecarId: string, sidecarAddress: string, localServiceAddress: string, port: number): CheckDefinition[] {
  const parentId = sidecarId.endsWith(SIDECAR_PROXY_SUFFIX) ? sidecarId.slice(0, -SIDECAR_PROXY_SUFFIX.length) : sidecarId;
  const listening = emptyCheckDefinition();
  listening.name = "Connect Sidecar Listening";
  listening.tcp = joinHostPort(sidecarAddress || localServiceAddress, port);
  listening.intervalMs = SIDECAR_CHECK_INTERVAL_MS;
  const aliasing = emptyCheckDefinition();
  aliasing.name = `Connect Sidecar Aliasing ${parentId}`;
  aliasing.aliasService = parentId;
  return [listening, aliasing];
}
