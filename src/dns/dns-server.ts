import type { Packet, Question } from "dns-packet";
import { systemClock, type Clock } from "../runtime/clock.ts";
import type { Logger } from "../runtime/logger.ts";
import type { Rng } from "../runtime/rng.ts";
import type { StateStore } from "../state/store.ts";
import { exchangeTcp, exchangeUdp } from "../transport/dns-upstream.ts";
import { listenDns, type DnsMessageHandler } from "../transport/dns-listener.ts";
import type { DnsSettings } from "./dns-settings.ts";
import { EncodedAnswerCache, type AnswerStamp, type EncodedAnswerCacheLimits } from "./encoded-answer-cache.ts";
import { parseSimpleQuery, simpleQueryPacket, type SimpleQuery } from "./fast-question.ts";
import { compressNames } from "./name-compression.ts";
import { forwardToRecursors, type Exchange } from "./recursor.ts";
import { buildReply, rcodeReply, type DnsTransport } from "./reply.ts";
import type { Rcode } from "./records.ts";
import { ResolverCache, resolveQuestion, type Deferred, type Remote, type Resolution, type ResolverContext } from "./resolver.ts";
import { fetchRemoteCatalog, RemoteCatalogView, RemoteLookupError } from "./remote-catalog.ts";
import type { DatacenterRouter } from "../server/datacenter-router.ts";
import type { Authorizer } from "../acl/authorizer.ts";
import { SourceRateLimiter } from "./source-rate-limit.ts";
import { clientSubnetAddress, plainAddress } from "./query-source.ts";
import { decodeMessage, encodeMessage, headerOnlyReply, screenHeader } from "./wire.ts";

// The DNS request pipeline: bytes in → decode → validate → resolve (or forward) → reply bytes.
// Answers inside the zone are computed synchronously; only forwarding awaits.

export interface DnsServerDeps {
  state: StateStore;
  /** With ACLs on: the DNS token's permissions, resolved per question. Encoded answers are then not cached. */
  authorizer?: () => Authorizer;
  /** Undefined when `authorizer` can answer now; else a wait for its first resolution (never rejects). */
  authorizerReady?: () => Promise<void> | undefined;
  settings: DnsSettings;
  logger: Logger;
  rng: Rng;
  clock?: Clock;
  /** Upstream exchange; tests replace it. */
  exchange?: Exchange;
  /** Reaches other datacenters for `<name>.service.<dc>` / `<name>.node.<dc>`; absent: such names are NXDOMAIN. */
  datacenters?: DatacenterRouter;
  /** Runs prepared queries for `.query` names (through the agent's dispatcher); absent: none exist. */
  executeQuery?: ResolverContext["executeQuery"];
  /** Encoded-answer cache tuning; tests shrink it. */
  answerCache?: EncodedAnswerCacheLimits;
}

export interface RunningDnsServer {
  udpPort: number;
  tcpPort: number;
  /** Swaps the settings in place (SIGHUP reload: dns_config and recursors hot-reload). */
  updateSettings(settings: DnsSettings): void;
  close(): Promise<void>;
}

const realExchange: Exchange = (upstream, request, transport, timeoutMs) =>
  transport === "tcp" ? exchangeTcp(upstream, request, timeoutMs) : exchangeUdp(upstream, request, timeoutMs);

const RD = 1 << 8;
/** Rate-bound refusals are logged at most this often. */
const RATE_WARN_INTERVAL_MS = 10_000;

export class DnsRequestHandler {
  #settings: DnsSettings;
  /** Bumped on every settings swap: part of every cached answer's stamp. */
  #settingsGeneration = 0;
  readonly #deps: DnsServerDeps;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #exchange: Exchange;
  readonly #cache = new ResolverCache();
  readonly #answers: EncodedAnswerCache;
  readonly #perSource = new SourceRateLimiter();
  #lastRateWarnMs = -Infinity;
  readonly #stampOf = (serviceName: string): AnswerStamp => {
    const catalog = this.#deps.state.catalog;
    return {
      serviceName,
      nameIndex: catalog.serviceNameIndex(serviceName),
      catalogGeneration: catalog.generation,
      settingsGeneration: this.#settingsGeneration,
    };
  };

  constructor(deps: DnsServerDeps) {
    this.#deps = deps;
    this.#settings = deps.settings;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger.named("dns");
    this.#exchange = deps.exchange ?? realExchange;
    this.#answers = new EncodedAnswerCache(deps.answerCache);
  }

  get settings(): DnsSettings {
    return this.#settings;
  }

  set settings(settings: DnsSettings) {
    this.#settings = settings;
    this.#settingsGeneration++;
  }

  /**
   * One wire message in, one reply out (undefined = drop). Never throws. `source` is the
   * sender's address, for the per-source rate bound (absent: not limited, e.g. in-process).
   */
  handle(message: Buffer, transport: DnsTransport, source?: string): Buffer | undefined | Promise<Buffer | undefined> {
    // Only the header is read until the request has passed these checks, so a packet's cost
    // is bounded by its size and not by the counts it claims.
    const verdict = screenHeader(message);
    // A response arriving at a server is ignored, as is anything shorter than a header.
    if (verdict.kind === "ignore") return undefined;
    if (source !== undefined && !this.#perSource.admit(source, this.settings.maxQpsPerSource, this.#clock.monotonicMs())) {
      // Over the bound: a datagram is dropped (a reply could be reflected at a spoofed
      // source); a TCP client, whose address is proven, learns it was refused.
      this.#warnRateLimited(source);
      return transport === "tcp" ? headerOnlyReply(message.readUInt16BE(0), message.readUInt16BE(2), "REFUSED") : undefined;
    }
    if (verdict.kind === "reject") {
      this.#logger.debug("rejected DNS request header", { bytes: message.length, rcode: verdict.rcode });
      return headerOnlyReply(message.readUInt16BE(0), message.readUInt16BE(2), verdict.rcode);
    }
    // A client agent with ACLs asks a server about its DNS token once; until then queries wait.
    const authorizerPending = this.#deps.authorizerReady?.();
    if (authorizerPending) return authorizerPending.then(() => this.#answerMessage(message, transport, source));
    return this.#answerMessage(message, transport, source);
  }

  #answerMessage(message: Buffer, transport: DnsTransport, source: string | undefined): Buffer | undefined | Promise<Buffer | undefined> {
    const simple = parseSimpleQuery(message);
    if (simple) {
      try {
        return this.#answerSimple(simple, message, transport, plainAddress(source));
      } catch (err) {
        return this.#failed(simpleQueryPacket(simple), err);
      }
    }
    const decoded = decodeMessage(message);
    if (!decoded.ok) {
      if (decoded.id === undefined) return undefined;
      this.#logger.debug("malformed DNS request", { bytes: message.length });
      return headerOnlyReply(decoded.id, decoded.flags ?? 0, "FORMERR");
    }
    const req = decoded.packet;
    try {
      return this.#answer(req, message, transport, clientSubnetAddress(req) ?? plainAddress(source));
    } catch (err) {
      return this.#failed(req, err);
    }
  }

  #warnRateLimited(source: string): void {
    const now = this.#clock.monotonicMs();
    if (now - this.#lastRateWarnMs < RATE_WARN_INTERVAL_MS) return;
    this.#lastRateWarnMs = now;
    this.#logger.warn("DNS requests over limits.dns_max_qps_per_client are not answered", {
      source,
      limit: this.settings.maxQpsPerSource,
      refused: this.#perSource.limited,
    });
  }

  #failed(req: Packet, err: unknown): Buffer {
    this.#logger.error("DNS request failed", { error: err instanceof Error ? err.message : String(err) });
    return this.#safeRcode(req, "SERVFAIL", false);
  }

  /**
   * The hot path: a plain question answered from the encoded-answer cache when the service it
   * names has not changed, else resolved as usual and, when cacheable, remembered.
   */
  #answerSimple(q: SimpleQuery, raw: Buffer, transport: DnsTransport, sourceIp: string): Buffer | undefined | Promise<Buffer | undefined> {
    const key = `${transport}|${q.flags & RD}|${q.udpPayloadSize ?? ""}|${raw.toString("latin1", q.questionStart, q.questionEnd)}`;
    const hit = this.#deps.authorizer ? undefined : this.#answers.take(key, q.id, this.#stampOf);
    if (hit) return hit;
    const req = simpleQueryPacket(q);
    const question: Question = { name: q.name, type: q.type, class: "IN" };
    const result = this.#resolve(question, sourceIp);
    if (result.kind === "remote") return this.#answerRemote(req, question, result, transport);
    if (result.kind === "deferred") return this.#deferred(req, question, result, transport);
    if (result.kind !== "answer") return this.#forward(req, result.fallback, raw, transport);
    const reply = this.#encode(buildReply(req, question, result, { transport, settings: this.settings, authoritative: true }).packet);
    if (result.cacheableService !== undefined && !this.#deps.authorizer) this.#answers.offer(key, this.#stampOf(result.cacheableService), reply);
    return reply;
  }

  /** `sourceIp`: the asker's address (its EDNS client subnet when sent), for prepared queries' `near=_ip`. */
  #resolve(question: Question, sourceIp: string): Resolution {
    return resolveQuestion(
      { name: question.name, type: question.type },
      {
        state: this.#deps.state,
        settings: this.settings,
        random: () => this.#deps.rng.float(),
        nowMs: this.#clock.now(),
        cache: this.#cache,
        authz: this.#deps.authorizer?.(),
        remoteDatacenters: this.#deps.datacenters !== undefined,
        executeQuery: this.#deps.executeQuery,
        sourceIp,
      },
    );
  }

  #answer(req: Packet, raw: Buffer, transport: DnsTransport, sourceIp: string): Buffer | undefined | Promise<Buffer | undefined> {
    // screenHeader has checked the opcode and that there is exactly one question.
    const question: Question | undefined = req.questions?.[0];
    if (question === undefined) return this.#safeRcode(req, "FORMERR", false);
    const result = this.#resolve(question, sourceIp);
    if (result.kind === "answer") {
      return this.#encode(buildReply(req, question, result, { transport, settings: this.settings, authoritative: true }).packet);
    }
    if (result.kind === "remote") return this.#answerRemote(req, question, result, transport);
    if (result.kind === "deferred") return this.#deferred(req, question, result, transport);
    return this.#forward(req, result.fallback, raw, transport);
  }

  /**
   * A name of another datacenter: its rows come from there (spec multi-dc §4), then the
   * resolver answers over them with that datacenter's name in the records. Unknown datacenter:
   * NXDOMAIN; unreachable or failing: SERVFAIL.
   */
  async #answerRemote(req: Packet, question: Question, remote: Remote, transport: DnsTransport): Promise<Buffer | undefined> {
    const router = this.#deps.datacenters;
    if (!router) return this.#safeRcode(req, "SERVFAIL", false);
    const settings = { ...this.settings, datacenter: remote.datacenter };
    let view: RemoteCatalogView;
    try {
      view = await fetchRemoteCatalog(router, remote.datacenter, remote.lookup, settings);
    } catch (err) {
      if (!(err instanceof RemoteLookupError) || !err.noPath) {
        this.#logger.warn("rpc error", { datacenter: remote.datacenter, error: err instanceof Error ? err.message : String(err) });
        return this.#safeRcode(req, "SERVFAIL", false);
      }
      view = RemoteCatalogView.ofNode(undefined);
    }
    const result = resolveQuestion(
      { name: question.name, type: question.type },
      { state: { catalog: view, lastIndex: 0 }, settings, random: () => this.#deps.rng.float(), nowMs: this.#clock.now() },
    );
    if (result.kind !== "answer") return this.#safeRcode(req, "SERVFAIL", false);
    return this.#encode(buildReply(req, question, result, { transport, settings, authoritative: true }).packet);
  }

  /** An answer computed elsewhere first (prepared queries); never cached here. */
  #deferred(req: Packet, question: Question, result: Deferred, transport: DnsTransport): Promise<Buffer | undefined> {
    return result.answer.then(
      (answered) => this.#encode(buildReply(req, question, answered, { transport, settings: this.settings, authoritative: true }).packet),
      (err: unknown) => this.#failed(req, err),
    );
  }

  #forward(req: Packet, fallback: Rcode, raw: Buffer, transport: DnsTransport): Buffer | Promise<Buffer | undefined> {
    const settings = this.settings;
    if (settings.recursors.length === 0) return this.#safeRcode(req, fallback, fallback !== "REFUSED");
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

  /** Our own replies, names compressed as Consul's are unless dns_config.disable_compression. */
  #encode(packet: Packet): Buffer {
    const bytes = encodeMessage(packet);
    return this.settings.disableCompression ? bytes : compressNames(bytes);
  }

  #safeRcode(req: Packet, rcode: Rcode, authoritative: boolean): Buffer {
    const recursionAvailable = this.settings.recursors.length > 0;
    try {
      return this.#encode(rcodeReply(req, rcode, { authoritative, recursionAvailable }));
    } catch {
      // The question itself would not re-encode: answer with the header alone.
      return headerOnlyReply(req.id ?? 0, req.flags ?? 0, rcode);
    }
  }
}

export async function startDnsServer(
  deps: DnsServerDeps,
  listen: { host: string; port: number },
): Promise<RunningDnsServer> {
  const handler = new DnsRequestHandler(deps);
  const onMessage: DnsMessageHandler = (message, transport, remote) => handler.handle(message, transport, remote.address);
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
