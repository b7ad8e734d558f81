import type { DecodedPacket, Question } from "dns-packet";
import { systemClock, type Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { StateStore } from "../state/store.ts";
import { exchangeTcp, exchangeUdp } from "../transport/dns-upstream.ts";
import { listenDns, type DnsMessageHandler } from "../transport/dns-listener.ts";
import type { DnsSettings } from "./dns-settings.ts";
import { forwardToRecursors, type Exchange } from "./recursor.ts";
import { buildReply, rcodeReply, type DnsTransport } from "./reply.ts";
import type { Rcode } from "./records.ts";
import { ResolverCache, resolveQuestion } from "./resolver.ts";
import { decodeMessage, encodeMessage, headerOnlyReply, isResponse } from "./wire.ts";

// The DNS request pipeline: bytes in → decode → validate → resolve (or forward) → reply bytes.
// Answers inside the zone are computed synchronously; only forwarding awaits.

export interface DnsServerDeps {
  state: StateStore;
  settings: DnsSettings;
  logger: Logger;
  rng: Rng;
  clock?: Clock;
  /** Upstream exchange; tests replace it. */
  exchange?: Exchange;
}

export interface RunningDnsServer {
  udpPort: number;
  tcpPort: number;
  /** Swaps the settings in place (SIGHUP reload: dns_config and recursors hot-reload). */
  updateSettings(settings: DnsSettings): void;
  close(): Promise<void>;
}

const OPCODE_QUERY = 0;
const OPCODE_NOTIFY = 4;

const realExchange: Exchange = (upstream, request, transport, timeoutMs) =>
  transport === "tcp" ? exchangeTcp(upstream, request, timeoutMs) : exchangeUdp(upstream, request, timeoutMs);

export class DnsRequestHandler {
  settings: DnsSettings;
  readonly #deps: DnsServerDeps;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #exchange: Exchange;
  readonly #cache = new ResolverCache();

  constructor(deps: DnsServerDeps) {
    this.#deps = deps;
    this.settings = deps.settings;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger.named("dns");
    this.#exchange = deps.exchange ?? realExchange;
  }

  /** One wire message in, one reply out (undefined = drop). Never throws. */
  handle(message: Buffer, transport: DnsTransport): Buffer | undefined | Promise<Buffer | undefined> {
    // A response arriving at a server is ignored, as is anything shorter than a header.
    if (isResponse(message)) return undefined;
    const decoded = decodeMessage(message);
    if (!decoded.ok) {
      if (decoded.id === undefined) return undefined;
      this.#logger.debug("malformed DNS request", { bytes: message.length });
      return headerOnlyReply(decoded.id, decoded.flags ?? 0, "FORMERR");
    }
    const req = decoded.packet;
    try {
      return this.#answer(req, message, transport);
    } catch (err) {
      this.#logger.error("DNS request failed", { error: err instanceof Error ? err.message : String(err) });
      return this.#safeRcode(req, "SERVFAIL", false);
    }
  }

  #answer(req: DecodedPacket, raw: Buffer, transport: DnsTransport): Buffer | undefined | Promise<Buffer | undefined> {
    const opcode = ((req.flags ?? 0) >> 11) & 0xf;
    if (opcode !== OPCODE_QUERY && opcode !== OPCODE_NOTIFY) return this.#safeRcode(req, "NOTIMP", false);
    const questions = req.questions ?? [];
    // Go's DNS server rejects these shapes with FORMERR before any handler sees them.
    if (questions.length !== 1 || (req.answers ?? []).length > 1 || (req.authorities ?? []).length > 1 || (req.additionals ?? []).length > 2) {
      return this.#safeRcode(req, "FORMERR", false);
    }
    const question: Question = questions[0];
    const settings = this.settings;
    const result = resolveQuestion(
      { name: question.name, type: question.type },
      { state: this.#deps.state, settings, random: () => this.#deps.rng.float(), nowMs: this.#clock.now(), cache: this.#cache },
    );
    if (result.kind === "answer") {
      return encodeMessage(buildReply(req, question, result, { transport, settings, authoritative: true }).packet);
    }
    if (settings.recursors.length === 0) return this.#safeRcode(req, result.fallback, result.fallback !== "REFUSED");
    return forwardToRecursors(raw, transport, {
      upstreams: settings.recursors,
      strategy: settings.recursorStrategy,
      timeoutMs: settings.recursorTimeoutMs,
      random: () => this.#deps.rng.float(),
      exchange: this.#exchange,
      onFailure: (u, err) => this.#logger.warn("recurse failed", { address: `${u.host}:${u.port}`, error: err instanceof Error ? err.message : String(err) }),
    }).then(
      (reply) => reply ?? this.#safeRcode(req, "SERVFAIL", false),
      () => this.#safeRcode(req, "SERVFAIL", false),
    );
  }

  #safeRcode(req: DecodedPacket, rcode: Rcode, authoritative: boolean): Buffer {
    const recursionAvailable = this.settings.recursors.length > 0;
    try {
      return encodeMessage(rcodeReply(req, rcode, { authoritative, recursionAvailable }));
    } catch {
      // The question itself would not re-encode: answer with the header alone.
      return headerOnlyReply(req.id ?? 0, req.flags ?? 0, rcode);
    }
  }
}

export async function startDnsServer(
  deps: { state: StateStore; settings: DnsSettings; logger: Logger; rng: Rng; clock?: Clock; exchange?: Exchange },
  listen: { host: string; port: number },
): Promise<RunningDnsServer> {
  const handler = new DnsRequestHandler(deps);
  const onMessage: DnsMessageHandler = (message, transport) => handler.handle(message, transport);
  const listener = await listenDns(listen, onMessage, deps.logger.named("dns"));
  return {
    udpPort: listener.udpPort,
    tcpPort: listener.tcpPort,
    updateSettings(settings) {
      handler.settings = settings;
    },
    close: () => listener.close(),
  };
}
