import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import type { CheckDefinition } from "./definition.ts";
import { goDialError, goTlsError, isTlsError } from "./go-errors.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import { DEFAULT_NETWORK_TIMEOUT_MS, effectiveIntervalMs, effectiveTimeoutMs, thresholdsOf, type Probe, type ProbeOutcome } from "./scheduler.ts";

// H2PING checks (Consul's checks.CheckH2PING): open an HTTP/2 connection (TLS by default,
// prior-knowledge cleartext with H2PingUseTLS=false) and send a PING; the ack is passing.

export interface H2PingProbeOptions {
  address: string;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName: string;
}

export function h2pingProbe(opts: H2PingProbeOptions): Probe {
  const authority = `${opts.useTls ? "https" : "http"}://${opts.address}`;
  return (signal) =>
    new Promise<ProbeOutcome>((resolve) => {
      let session: ClientHttp2Session | undefined;
      let settled = false;
      let connected = false;
      const finish = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        session?.destroy();
        resolve(outcome);
      };
      const onAbort = (): void =>
        finish({
          status: "critical",
          output: connected ? "HTTP2 ping failed: context deadline exceeded" : `Failed to dial to ${opts.address}: dial tcp ${opts.address}: i/o timeout`,
        });
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        session = http2Connect(authority, opts.useTls ? { rejectUnauthorized: !opts.tlsSkipVerify, ...(opts.tlsServerName ? { servername: opts.tlsServerName } : {}) } : {});
      } catch (err) {
        finish({ status: "critical", output: `Failed to dial to ${opts.address}: ${err instanceof Error ? err.message : String(err)}` });
        return;
      }
      session.on("error", (err) => {
        if (connected) finish({ status: "critical", output: `HTTP2 ping failed: ${err.message}` });
        else finish({ status: "critical", output: `Failed to dial to ${opts.address}: ${isTlsError(err) ? goTlsError(err) : goDialError("tcp", opts.address, err)}` });
      });
      session.once("connect", (s: ClientHttp2Session) => {
        connected = true;
        s.ping((err) => {
          if (err) finish({ status: "critical", output: `HTTP2 ping failed: ${err.message}` });
          else finish({ status: "passing", output: "HTTP2 ping was successful" });
        });
      });
    });
}

export const h2pingRunner: CheckRunner = {
  kind: "h2ping",
  start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
    return ctx.scheduler.schedule(
      {
        checkId,
        kind: "h2ping",
        intervalMs: effectiveIntervalMs(def),
        timeoutMs: effectiveTimeoutMs(def, DEFAULT_NETWORK_TIMEOUT_MS),
        thresholds: thresholdsOf(def),
        probe: h2pingProbe({ address: def.h2ping, useTls: def.h2pingUseTls, tlsSkipVerify: def.tlsSkipVerify, tlsServerName: def.tlsServerName }),
      },
      ctx.sink,
    );
  },
};
