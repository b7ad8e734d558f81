// `consul connect proxy` (spec/connect.md §8): the built-in L4 proxy. Flag handling lives
// here; the proxy itself is connect-proxy/.
import type { CommandDefinition } from "./command-definition.ts";
import { helpFor, parseCommandLine } from "./command-definition.ts";
import type { CommandIO } from "./command-io.ts";
import { printLine } from "./command-io.ts";
import { boolFlag, repeatableFlag, stringFlag, type FlagValues } from "./go-flags.ts";
import { errorMessage, HTTP_CLIENT_FLAGS, resolveClientConfig } from "./http-client.ts";
import { withProcessShutdown } from "./shutdown-signal.ts";
import { ProxyConfigError, splitHostPort, upstreamFromFlag, type ProxyConfig } from "../connect-proxy/proxy-config.ts";
import { runProxy, type ProxySource } from "../connect-proxy/run.ts";
import { systemClock } from "../runtime/clock.ts";
import { createLogger, parseLogLevel } from "../runtime/logger.ts";

const FLAGS = {
  "sidecar-for": stringFlag(
    "The ID of a service instance on the local agent that this proxy should become a sidecar for. It requires that the proxy service is registered with the agent as a connect-proxy with Proxy.DestinationServiceID set to this value. If more than one such proxy is registered it will fail and instead specifying -proxy-id is required. This can also be specified via the CONNECT_SIDECAR_FOR environment variable.",
  ),
  "proxy-id": stringFlag(
    "The proxy's ID on the local agent. This can also be specified via the CONNECT_PROXY_ID environment variable.",
  ),
  service: stringFlag("Name of the service this proxy is representing."),
  "service-addr": stringFlag("Address of the local service to proxy. Only useful if -listen and -service are both set."),
  listen: stringFlag("Address to listen for inbound connections to the proxied service. Must be specified with -service and -service-addr."),
  upstream: repeatableFlag("Upstream service to support connecting to. The format should be 'name:addr', such as 'db:8181'. This will make 'db' available on port 8181. This can be repeated multiple times."),
  register: boolFlag("Self-register with the local Consul agent. Only useful with -listen."),
  "register-id": stringFlag("ID suffix for the service. Use this to disambiguate with other proxies."),
  "log-level": stringFlag("Specifies the log level.", "INFO"),
  "pprof-addr": stringFlag("Enable debugging via pprof. Providing a host:port (or just ':port') enables profiling HTTP endpoints on that address."),
  ...HTTP_CLIENT_FLAGS,
} as const;

const HELP = `
Usage: consulate connect proxy [options]

  Starts a Consul service mesh proxy and runs until an interrupt is received.
  The proxy can be used to accept inbound connections for a service,
  wrap outbound connections to upstream services, or both. This enables
  a non-service-mesh-aware application to use service mesh.

  The proxy requires service:write permissions for the service it represents.
  The token may be passed via the CLI or the CONSUL_HTTP_TOKEN environment
  variable.

  The example below shows how to start a local proxy for establishing outbound
  connections to "db" representing the frontend service. Once running, any
  process that creates a TCP connection to the specified port (8181) will
  establish a mutual TLS connection to "db" identified as "frontend".

    $ consulate connect proxy -service frontend -upstream db:8181

  The proxy for a registered sidecar takes its configuration from the
  registration and follows changes to it:

    $ consulate connect proxy -sidecar-for web
`;

async function runConnectProxy(args: string[], io: CommandIO, shutdown: AbortSignal): Promise<number> {
  const parsed = parseCommandLine(FLAGS, HELP, args, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const level = parseLogLevel(v["log-level"]);
  if (!level) {
    printLine(io.stderr, `Invalid log level: ${v["log-level"]}`);
    return 1;
  }
  if (v["pprof-addr"] !== "") {
    printLine(io.stderr, "-pprof-addr is not supported by consulate's built-in proxy");
    return 1;
  }
  let source: ProxySource;
  try {
    source = sourceFromFlags(v, io.env);
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }
  let agent: string;
  let token: string;
  try {
    const cc = await resolveClientConfig(v, io.env);
    if (cc.socketPath !== undefined || cc.tls.ca !== undefined || cc.tls.cert !== undefined || cc.basicAuth !== undefined) {
      printLine(io.stderr, "The built-in proxy reaches the agent over http or https (system CAs) only: unix sockets, -ca-file/-ca-path, client certificates and CONSUL_HTTP_AUTH are not supported");
      return 1;
    }
    agent = `${cc.scheme}://${cc.address}`;
    token = cc.token;
  } catch (err) {
    printLine(io.stderr, errorMessage(err));
    return 1;
  }
  const logger = createLogger({ level, json: false, write: (line) => io.stdout.write(line) }).named("proxy");
  try {
    return await runProxy({ agent, token, source, logger, clock: systemClock, shutdown });
  } catch (err) {
    printLine(io.stderr, err instanceof ProxyConfigError ? err.message : `Failed to start proxy: ${errorMessage(err)}`);
    return 1;
  }
}

type StringFlag = { [K in keyof typeof FLAGS]: (typeof FLAGS)[K]["kind"] extends "string" ? K : never }[keyof typeof FLAGS];

function sourceFromFlags(v: FlagValues<typeof FLAGS>, env: Readonly<Record<string, string | undefined>>): ProxySource {
  const str = (k: StringFlag): string => v[k];
  const sidecarFor = str("sidecar-for") || env.CONNECT_SIDECAR_FOR || "";
  const proxyId = str("proxy-id") || env.CONNECT_PROXY_ID || "";
  const upstreams = v.upstream.map(upstreamFromFlag);
  const flagOnly: string[] = (["service", "service-addr", "listen", "register-id"] as const).filter((k) => str(k) !== "");
  if (upstreams.length > 0) flagOnly.push("upstream");
  if (v.register === true) flagOnly.push("register");
  if (sidecarFor !== "" || proxyId !== "") {
    if (sidecarFor !== "" && proxyId !== "") throw new ProxyConfigError("-sidecar-for and -proxy-id are mutually exclusive");
    const mode = sidecarFor !== "" ? "-sidecar-for" : "-proxy-id";
    if (flagOnly.length > 0) throw new ProxyConfigError(`${flagOnly.map((f) => `-${f}`).join(", ")} cannot be combined with ${mode}: the proxy takes its configuration from the registration`);
    return sidecarFor !== "" ? { kind: "sidecar-for", serviceId: sidecarFor } : { kind: "registration", proxyId };
  }
  const service = str("service");
  if (service === "") throw new ProxyConfigError("Service name must be specified with -service or -proxy-id");
  let publicListener: ProxyConfig["publicListener"];
  if (str("listen") !== "") {
    if (str("service-addr") === "") throw new ProxyConfigError("-service-addr must be specified with -listen so the proxy can reach the local application");
    const bind = splitHostPort(str("listen"), "-listen");
    const local = splitHostPort(str("service-addr"), "-service-addr");
    publicListener = { bindAddress: bind.host || "0.0.0.0", bindPort: bind.port, localServiceAddress: local.host || "127.0.0.1", localServicePort: local.port, localConnectTimeoutMs: 1000, handshakeTimeoutMs: 10_000 };
  } else if (str("service-addr") !== "") {
    throw new ProxyConfigError("-service-addr is only used with -listen");
  }
  if (v.register === true && !publicListener) throw new ProxyConfigError("-register requires -listen (a proxy is registered at its public address)");
  if (str("register-id") !== "" && v.register !== true) throw new ProxyConfigError("-register-id is only used with -register");
  const registerId = str("register-id") !== "" ? `${service}-proxy-${str("register-id")}` : `${service}-proxy`;
  return { kind: "flags", config: { service, publicListener, upstreams }, register: v.register === true ? { id: registerId } : undefined };
}

export const connectProxyCommand: CommandDefinition = {
  synopsis: "Runs a Consul service mesh proxy",
  help: helpFor(HELP, FLAGS),
  run: withProcessShutdown((args, io, shutdown) => runConnectProxy(args, io, shutdown)),
};
