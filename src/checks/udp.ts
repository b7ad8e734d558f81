import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { CheckDefinition } from "./definition.ts";
import { goDialError, goSyscallText, splitHostPort } from "./go-errors.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import { DEFAULT_NETWORK_TIMEOUT_MS, effectiveIntervalMs, effectiveTimeoutMs, thresholdsOf, type Probe, type ProbeOutcome } from "./scheduler.ts";

// UDP checks (Consul's checks.CheckUDP): send a datagram on a connected socket and wait for
// a reply. UDP has no handshake, so silence until the timeout counts as success (as Consul);
// only an error — typically the ICMP port-unreachable that surfaces as "connection refused"
// on the next read — makes the check critical.

export function udpProbe(address: string): Probe {
  const success: ProbeOutcome = { status: "passing", output: `UDP connect ${address}: Success` };
  return (signal) =>
    new Promise<ProbeOutcome>((resolve) => {
      const target = splitHostPort(address);
      if (typeof target === "string") {
        resolve({ status: "critical", output: `dial udp ${address}: ${target}` });
        return;
      }
      const socket: Socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
      let settled = false;
      let connected = false;
      const finish = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        try {
          socket.close();
        } catch {
          // already closed
        }
        resolve(outcome);
      };
      const onAbort = (): void => finish(success);
      const endpoints = (): string => {
        const local = socket.address();
        const remote = socket.remoteAddress();
        const fmt = (a: string, p: number): string => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
        return `${fmt(local.address, local.port)}->${fmt(remote.address, remote.port)}`;
      };
      socket.on("error", (err) => {
        if (!connected) finish({ status: "critical", output: goDialError("udp", address, err) });
        else finish({ status: "critical", output: `read udp ${endpoints()}: read: ${goSyscallText(err)}` });
      });
      socket.on("message", () => finish(success));
      signal.addEventListener("abort", onAbort, { once: true });
      socket.connect(target.port, target.host, () => {
        connected = true;
        socket.send(Buffer.alloc(0), (err) => {
          if (err) finish({ status: "critical", output: `write udp ${endpoints()}: write: ${goSyscallText(err)}` });
        });
      });
    });
}

export const udpRunner: CheckRunner = {
  kind: "udp",
  start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
    return ctx.scheduler.schedule(
      {
        checkId,
        kind: "udp",
        intervalMs: effectiveIntervalMs(def),
        timeoutMs: effectiveTimeoutMs(def, DEFAULT_NETWORK_TIMEOUT_MS),
        thresholds: thresholdsOf(def),
        probe: udpProbe(def.udp),
      },
      ctx.sink,
    );
  },
};
