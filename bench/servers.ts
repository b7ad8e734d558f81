import { fileURLToPath } from "node:url";
import { spawnNode, type SpawnedProcess } from "./child-process.ts";
import { freePort } from "./free-port.ts";
import { firstOk } from "./http-call.ts";

// The two servers every case compares: the real agent process and the bare node:http server.
// Both are started the same way (spawn, then poll /v1/status/leader every few ms until a 200),
// so the start-up figure of one is comparable with the other's.

export type ServerKind = "agent" | "bare";

export interface ServerUnderTest {
  kind: ServerKind;
  proc: SpawnedProcess;
  /** e.g. "http://127.0.0.1:40123" */
  base: string;
  /** From spawn() to the first 200 from /v1/status/leader. */
  startupMs: number;
  /** e.g. "https://127.0.0.1:40124" when launched with `https`. */
  httpsBase?: string;
}

export interface LaunchOptions {
  raiseFdLimit?: boolean;
  nodeFlags?: string[];
  /** Bare server only: answer with this file's bytes instead of the small fixed body. */
  bareBodyFile?: string;
  /** Also serve HTTPS with this certificate (agent: ports.https and tls.defaults; bare: node:https). */
  https?: { certFile: string; keyFile: string };
  /** Agent only: more command-line arguments (e.g. `-config-file <path>`). */
  agentArgs?: string[];
}

// CONSULATE_BIN=<bundle.mjs> runs another build (a copy of an older dist/) for same-run A/B.
const CONSULATE_BIN = process.env.CONSULATE_BIN ?? fileURLToPath(new URL("../bin/consulate.js", import.meta.url));
const BARE_SERVER = fileURLToPath(new URL("./bare-server.ts", import.meta.url));
const STARTUP_POLL_INTERVAL_MS = 2;
const STARTUP_DEADLINE_MS = 20_000;

export async function launch(kind: ServerKind, options: LaunchOptions = {}): Promise<ServerUnderTest> {
  const httpPort = await freePort();
  const httpsPort = options.https ? await freePort() : undefined;
  const https = options.https;
  const httpsArgs =
    https === undefined || httpsPort === undefined
      ? []
      : kind === "agent"
        ? ["-https-port", String(httpsPort), "-hcl", `tls {\n  defaults {\n    cert_file = ${JSON.stringify(https.certFile)}\n    key_file = ${JSON.stringify(https.keyFile)}\n  }\n}`]
        : [options.bareBodyFile ?? "-", String(httpsPort), https.certFile, https.keyFile];
  const args =
    kind === "agent"
      ? [
          "agent",
          "-dev",
          "-http-port",
          String(httpPort),
          "-dns-port",
          String(await freePort()),
          "-server-port",
          String(await freePort()),
          "-serf-lan-port",
          String(await freePort()),
          "-serf-wan-port",
          String(await freePort()),
          // No gRPC server exists; a port > 0 is refused at start (src/config/unsupported.ts).
          "-grpc-port",
          "-1",
          ...(options.agentArgs ?? []),
        ]
      : [String(httpPort), ...(https ? [] : options.bareBodyFile ? [options.bareBodyFile] : [])];
  args.push(...httpsArgs);
  const base = `http://127.0.0.1:${httpPort}`;
  const startedAt = performance.now();
  const proc = spawnNode(kind === "agent" ? CONSULATE_BIN : BARE_SERVER, args, {
    label: kind,
    viaTsx: kind === "bare",
    raiseFdLimit: options.raiseFdLimit,
    nodeFlags: options.nodeFlags,
  });
  let alive = true;
  void proc.exited.then(() => (alive = false));
  try {
    const answeredAt = await firstOk(`${base}/v1/status/leader`, STARTUP_DEADLINE_MS, STARTUP_POLL_INTERVAL_MS, () => alive);
    return { kind, proc, base, startupMs: answeredAt - startedAt, httpsBase: httpsPort === undefined ? undefined : `https://127.0.0.1:${httpsPort}` };
  } catch (err) {
    await proc.stop();
    throw new Error(`${kind} did not start: ${err instanceof Error ? err.message : String(err)}\n${proc.logTail()}`);
  }
}

/** Runs `use` with a started server and always stops it afterwards. */
export async function withServer<T>(kind: ServerKind, options: LaunchOptions, use: (server: ServerUnderTest) => Promise<T>): Promise<T> {
  const server = await launch(kind, options);
  try {
    return await use(server);
  } finally {
    await server.proc.stop();
  }
}
