import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { CheckDefinition } from "./definition.ts";
import { goDialError, goDialTimeout, goTlsError, isTlsError, splitHostPort } from "./go-errors.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import { DEFAULT_NETWORK_TIMEOUT_MS, effectiveIntervalMs, effectiveTimeoutMs, thresholdsOf, type Probe, type ProbeOutcome } from "./scheduler.ts";

// TCP checks (Consul's checks.CheckTCP): passing when a connection (and, with TCPUseTLS, a TLS
// handshake) succeeds — `TCP connect <addr>: Success` — critical with Go's dial error otherwise.

export interface TcpProbeOptions {
  address: string;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName: string;
}

export function tcpProbe(opts: TcpProbeOptions): Probe {
  const label = opts.useTls ? "TCP+TLS" : "TCP";
  return (signal) =>
    new Promise<ProbeOutcome>((resolve) => {
      const target = splitHostPort(opts.address);
      if (typeof target === "string") {
        resolve({ status: "critical", output: `dial tcp ${opts.address}: ${target}` });
        return;
      }
      let socket: Socket;
      let settled = false;
      const finish = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve(outcome);
      };
      const onAbort = (): void => finish({ status: "critical", output: goDialTimeout("tcp", opts.address) });
      const success = (): void => finish({ status: "passing", output: `${label} connect ${opts.address}: Success` });
      if (opts.useTls) {
        socket = tlsConnect({
          host: target.host,
          port: target.port,
          rejectUnauthorized: !opts.tlsSkipVerify,
          servername: opts.tlsServerName || (/^[\d.]+$|:/.test(target.host) ? undefined : target.host),
        });
        socket.once("secureConnect", success);
      } else {
        socket = netConnect({ host: target.host, port: target.port });
        socket.once("connect", success);
      }
      socket.once("error", (err) => finish({ status: "critical", output: isTlsError(err) ? goTlsError(err) : goDialError("tcp", opts.address, err) }));
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
}

export const tcpRunner: CheckRunner = {
  kind: "tcp",
  start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
    return ctx.scheduler.schedule(
      {
        checkId,
        kind: "tcp",
        intervalMs: effectiveIntervalMs(def),
        timeoutMs: effectiveTimeoutMs(def, DEFAULT_NETWORK_TIMEOUT_MS),
        thresholds: thresholdsOf(def),
        probe: tcpProbe({ address: def.tcp, useTls: def.tcpUseTls, tlsSkipVerify: def.tlsSkipVerify, tlsServerName: def.tlsServerName }),
      },
      ctx.sink,
    );
  },
};
