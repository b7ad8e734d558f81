// Helpers for Connect data-plane tests: `consulate connect proxy` processes, tiny node:net
// applications, and one-shot request/answer exchanges through the mesh.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { CONSULATE_BIN } from "./agent-process.ts";

export interface ProxyProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `consulate connect proxy <args>` and waits for its "proxy started" line. */
export async function spawnProxy(httpBase: string, args: string[], timeoutMs = 15_000): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [CONSULATE_BIN, "connect", "proxy", `-http-addr=${httpBase}`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const proc: ProxyProcess = {
    child,
    output: () => out,
    exited,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start in time:\n${out}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes("proxy started")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited (${code}) before starting:\n${out}`));
    });
  });
  return proc;
}

/** A TCP app that answers every chunk with `<name>:<chunk>`; close() ends it and its connections. */
export async function startTagApp(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    s.on("data", (d) => s.write(`${name}:${d.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Connects, sends `message`, and resolves with the first answer, or null when the connection is closed without one. */
export function exchange(port: number, message: string, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    let done = false;
    const finish = (v: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.on("connect", () => s.write(message));
    s.on("data", (d) => finish(d.toString()));
    s.on("error", () => finish(null));
    s.on("close", () => finish(null));
  });
}

/** A connection kept open: send() resolves with the next answer (null when closed). */
export async function openConversation(port: number): Promise<{ send(msg: string): Promise<string | null>; close(): void }> {
  const s = net.connect({ port, host: "127.0.0.1" });
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  let waiter: ((v: string | null) => void) | undefined;
  s.on("data", (d) => {
    const w = waiter;
    waiter = undefined;
    w?.(d.toString());
  });
  s.on("close", () => waiter?.(null));
  s.on("error", () => undefined);
  return {
    send: (msg) =>
      new Promise((resolve) => {
        if (s.destroyed) return resolve(null);
        waiter = resolve;
        s.write(msg);
      }),
    close: () => s.destroy(),
  };
}

export async function putJson(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}${path}`, { method: "PUT", body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${text}`);
}

/** Registers `name` (port `appPort`) with a sidecar on `sidecarPort` whose TCP check runs every second. */
export async function registerWithSidecar(base: string, opts: { id?: string; name: string; appPort: number; sidecarPort: number; upstreams?: { DestinationType?: string; DestinationName: string; LocalBindPort: number }[]; streamReuse?: boolean }): Promise<void> {
  const id = opts.id ?? opts.name;
  await putJson(base, "/v1/agent/service/register", {
    ID: id,
    Name: opts.name,
    Port: opts.appPort,
    Connect: {
      SidecarService: {
        Port: opts.sidecarPort,
        Proxy: { Config: { bind_address: "127.0.0.1", ...(opts.streamReuse ? { consulate_stream_reuse: true } : {}) }, Upstreams: opts.upstreams ?? [] },
        Checks: [{ Name: "Connect Sidecar Listening", TCP: `127.0.0.1:${opts.sidecarPort}`, Interval: "1s" }],
      },
    },
  });
}

/** Healthy (passing) Connect instances of `service`, as the agent reports them. */
export async function passingConnect(base: string, service: string): Promise<number> {
  const res = await fetch(`${base}/v1/health/connect/${service}?passing=1`);
  const body = (await res.json()) as unknown[];
  return body.length;
}
