import { connect as http2Connect, constants as h2, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import type { CheckDefinition } from "./definition.ts";
import { goDialError, goTlsError, isTlsError } from "./go-errors.ts";
import type { CheckRunContext, CheckRunner, RunningCheck } from "./runner.ts";
import { DEFAULT_NETWORK_TIMEOUT_MS, effectiveIntervalMs, effectiveTimeoutMs, thresholdsOf, type Probe, type ProbeOutcome } from "./scheduler.ts";

// gRPC checks: one unary call of the standard health protocol, grpc.health.v1.Health/Check,
// spoken directly over node:http2 (the wire form of a unary call is small: a POST with a
// 5-byte length-prefixed protobuf message, the status in the `grpc-status` trailer), so no
// gRPC library is needed. `GRPC` is `host:port` or `host:port/service`; passing only when the
// answer is SERVING. Outputs follow Consul's and grpc-go's texts.

const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;
const GRPC_CODES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
];

export interface GrpcProbeOptions {
  target: string;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName: string;
}

/** HealthCheckRequest{service} framed as a gRPC message (uncompressed). */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const fields: number[] = [];
  if (name.length > 0) {
    fields.push(0x0a); // field 1, length-delimited
    let n = name.length;
    while (n > 0x7f) {
      fields.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    fields.push(n);
  }
  const message = Buffer.concat([Buffer.from(fields), name]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

/** The `status` of a framed HealthCheckResponse; 0 (UNKNOWN) when absent. */
export function decodeHealthCheckStatus(framed: Buffer): number {
  if (framed.length < 5) return 0;
  const length = framed.readUInt32BE(1);
  const msg = framed.subarray(5, 5 + length);
  let i = 0;
  let status = 0;
  const varint = (): number => {
    let shift = 0;
    let value = 0;
    while (i < msg.length) {
      const b = msg[i++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    return value;
  };
  while (i < msg.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 1) status = v;
    } else if (wire === 2) {
      i += varint();
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      break;
    }
  }
  return status;
}

function rpcError(code: number, desc: string): string {
  return `rpc error: code = ${GRPC_CODES[code] ?? `Code(${code})`} desc = ${desc}`;
}

function decodeGrpcMessage(raw: unknown): string {
  if (typeof raw !== "string") return "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function grpcProbe(opts: GrpcProbeOptions): Probe {
  const slash = opts.target.indexOf("/");
  const server = slash < 0 ? opts.target : opts.target.slice(0, slash);
  const service = slash < 0 ? "" : opts.target.slice(slash + 1);
  const request = encodeHealthCheckRequest(service);
  const authority = `${opts.useTls ? "https" : "http"}://${server}`;

  return (signal) =>
    new Promise<ProbeOutcome>((resolve) => {
      let session: ClientHttp2Session | undefined;
      let settled = false;
      const finish = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        session?.destroy();
        resolve(outcome);
      };
      const onAbort = (): void => finish({ status: "critical", output: rpcError(4, "context deadline exceeded") });
      const dialFailed = (raw: unknown): void => {
        // A pending stream fails with ERR_HTTP2_STREAM_CANCEL wrapping the socket's error.
        const err = raw instanceof Error && raw.cause !== undefined ? raw.cause : raw;
        const why = isTlsError(err) ? `authentication handshake failed: ${goTlsError(err)}` : `Error while dialing: ${goDialError("tcp", server, err)}`;
        finish({ status: "critical", output: rpcError(14, `connection error: desc = "transport: ${why}"`) });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        session = http2Connect(authority, opts.useTls ? { rejectUnauthorized: !opts.tlsSkipVerify, ...(opts.tlsServerName ? { servername: opts.tlsServerName } : {}) } : {});
      } catch (err) {
        finish({ status: "critical", output: rpcError(14, `connection error: desc = "transport: ${err instanceof Error ? err.message : String(err)}"`) });
        return;
      }
      let connected = false;
      session.once("connect", () => (connected = true));
      session.on("error", (err) => (connected ? finish({ status: "critical", output: rpcError(14, String(err instanceof Error ? err.message : err)) }) : dialFailed(err)));

      const stream = session.request({
        [h2.HTTP2_HEADER_METHOD]: "POST",
        [h2.HTTP2_HEADER_PATH]: HEALTH_CHECK_PATH,
        [h2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
        te: "trailers",
        "user-agent": "grpc-go/1.0 consulate-health-check",
      });
      const chunks: Buffer[] = [];
      let headers: IncomingHttpHeaders = {};
      stream.on("response", (h) => (headers = h));
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (err) => (connected ? finish({ status: "critical", output: rpcError(14, err.message) }) : dialFailed(err)));
      const conclude = (trailers: IncomingHttpHeaders): void => {
        const httpStatus = Number(headers[h2.HTTP2_HEADER_STATUS] ?? 0);
        const grpcStatusRaw = trailers["grpc-status"] ?? headers["grpc-status"];
        if (grpcStatusRaw === undefined) {
          if (httpStatus !== 200) {
            finish({ status: "critical", output: rpcError(httpStatus === 404 ? 12 : 14, `unexpected HTTP status code received from server: ${httpStatus}`) });
          } else {
            finish({ status: "critical", output: rpcError(13, "server closed the stream without sending trailers") });
          }
          return;
        }
        const grpcStatus = Number(grpcStatusRaw);
        if (grpcStatus !== 0) {
          finish({ status: "critical", output: rpcError(grpcStatus, decodeGrpcMessage(trailers["grpc-message"] ?? headers["grpc-message"])) });
          return;
        }
        const serving = decodeHealthCheckStatus(Buffer.concat(chunks));
        if (serving === 1) finish({ status: "passing", output: `gRPC check ${opts.target}: success` });
        else finish({ status: "critical", output: `gRPC ${opts.target} serving status: ${SERVING_STATUS[serving] ?? String(serving)}` });
      };
      let trailers: IncomingHttpHeaders | undefined;
      stream.on("trailers", (t) => (trailers = t));
      stream.on("close", () => conclude(trailers ?? {}));
      stream.end(request);
    });
}

export const grpcRunner: CheckRunner = {
  kind: "grpc",
  start(checkId: string, def: CheckDefinition, ctx: CheckRunContext): RunningCheck {
    return ctx.scheduler.schedule(
      {
        checkId,
        kind: "grpc",
        intervalMs: effectiveIntervalMs(def),
        timeoutMs: effectiveTimeoutMs(def, DEFAULT_NETWORK_TIMEOUT_MS),
        thresholds: thresholdsOf(def),
        probe: grpcProbe({ target: def.grpc, useTls: def.grpcUseTls, tlsSkipVerify: def.tlsSkipVerify, tlsServerName: def.tlsServerName }),
      },
      ctx.sink,
    );
  },
};
