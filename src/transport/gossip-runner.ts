import { systemClock } from "../runtime/clock.ts";
import type { GossipObserver } from "../gossip/observer.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { systemRng } from "../runtime/rng.ts";
import type { Rng } from "../runtime/rng.ts";
import type { GossipConfig } from "../gossip/config.ts";
import { DEFAULT_LAN_CONFIG } from "../gossip/config.ts";
import type { Member, MemberTags } from "../gossip/member-state.ts";
import { Swim } from "../gossip/swim.ts";
import type { GossipEvent, PingDelegate } from "../gossip/swim.ts";
import { ENCRYPTION_OVERHEAD_BYTES, GossipEncryption } from "./gossip-crypto.ts";
import type { GossipVerify, Keyring } from "./gossip-crypto.ts";
import { listenGossipTcp } from "./gossip-tcp.ts";
import type { GossipTcp, StreamFailure } from "./gossip-tcp.ts";
import { bindGossipUdp } from "./gossip-udp.ts";
import type { GossipUdp } from "./gossip-udp.ts";

// Runs the pure SWIM core on real sockets: UDP and TCP on one port, one timer armed at the
// core's next deadline, every input followed by carrying out the core's ready() batch (events
// to listeners in order, then datagrams and streams). This is the only gossip code with I/O.

export interface GossipRunnerOptions {
  readonly name: string;
  /** Address to bind and advertise, e.g. 127.0.0.1. */
  readonly bindHost: string;
  /** 0 picks a free port (UDP and TCP share it). */
  readonly port: number;
  readonly config?: GossipConfig;
  readonly tags?: MemberTags;
  readonly keyring?: Keyring;
  /** encrypt_verify_incoming / encrypt_verify_outgoing; both on when absent. */
  readonly gossipVerify?: GossipVerify;
  readonly clock?: Clock;
  readonly rng?: Rng;
  /** Told of probes, datagrams and streams as they happen (memberlist's metrics). */
  readonly observer?: GossipObserver;
  /** Ack payloads and probe RTTs (serf's network coordinates). */
  readonly ping?: PingDelegate;
}

export type GossipListener = (event: GossipEvent) => void;

/** Answers a stream addressed to a layer above the SWIM core; undefined sends no answer. */
export type StreamExtension = (fromAddr: string, request: Uint8Array) => Promise<Uint8Array | undefined>;

const BIND_ATTEMPTS = 20;

export class GossipRunner {
  readonly swim: Swim;
  readonly addr: string;
  readonly #udp: GossipUdp;
  readonly #tcp: GossipTcp;
  readonly #clock: Clock;
  readonly #listeners: GossipListener[] = [];
  /** Per join stream: resolves with undefined when the seed answered, else why it did not. */
  readonly #joinWaiters = new Map<number, (failure: StreamFailure | undefined) => void>();
  readonly #streamExtensions = new Map<number, StreamExtension>();
  #leaveWaiter: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  #timerAtMs = Number.POSITIVE_INFINITY;
  #closed = false;

  private constructor(swim: Swim, addr: string, udp: GossipUdp, tcp: GossipTcp, clock: Clock) {
    this.swim = swim;
    this.addr = addr;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#clock = clock;
  }

  static async start(options: GossipRunnerOptions): Promise<GossipRunner> {
    const clock = options.clock ?? systemClock;
    const config = options.config ?? DEFAULT_LAN_CONFIG;
    let runner: GossipRunner | undefined;
    const onPacket = (from: string, bytes: Uint8Array): void => (runner ? runner.#onPacket(from, bytes) : undefined);
    const onStream = (from: string, bytes: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> => (runner ? runner.#onStream(from, bytes) : undefined);
    // TCP first on the requested (or a free) port, then UDP on the same number; retry when
    // the UDP side of a kernel-chosen port is taken.
    const encryption = options.keyring ? new GossipEncryption(options.keyring, options.gossipVerify) : undefined;
    for (let attempt = 0; ; attempt++) {
      const tcp = await listenGossipTcp({ host: options.bindHost, port: options.port }, onStream, encryption, config.tcpTimeoutMs, options.observer);
      let udp: GossipUdp;
      try {
        udp = await bindGossipUdp({ host: options.bindHost, port: tcp.port }, onPacket, encryption, options.observer);
      } catch (err) {
        await tcp.close();
        if (options.port !== 0 || attempt >= BIND_ATTEMPTS) throw err;
        continue;
      }
      const addr = `${options.bindHost.includes(":") ? `[${options.bindHost}]` : options.bindHost}:${tcp.port}`;
      const swim = new Swim({
        name: options.name,
        addr,
        tags: options.tags,
        config,
        rng: options.rng ?? systemRng,
        nowMs: clock.monotonicMs(),
        packetOverheadBytes: options.keyring ? ENCRYPTION_OVERHEAD_BYTES : 0,
        observer: options.observer,
        ping: options.ping,
      });
      runner = new GossipRunner(swim, addr, udp, tcp, clock);
      runner.#flush();
      return runner;
    }
  }

  onEvent(listener: GossipListener): void {
    this.#listeners.push(listener);
  }

  members(): Member[] {
    return this.swim.members();
  }

  /** Joins through the given addresses; resolves with how many answered the push-pull. */
  async join(addrs: readonly string[]): Promise<number> {
    return (await this.joinEach(addrs)).filter((f) => f === undefined).length;
  }

  /** Joins through each address; per address, undefined when it answered, else why it did not. */
  async joinEach(addrs: readonly string[]): Promise<(StreamFailure | undefined)[]> {
    const ids = this.swim.join(addrs);
    const results = ids.map((id) => new Promise<StreamFailure | undefined>((resolve) => this.#joinWaiters.set(id, resolve)));
    this.#flush();
    return Promise.all(results);
  }

  setTags(tags: MemberTags): void {
    this.swim.setTags(tags, this.#now());
    this.#flush();
  }

  userEvent(name: string, payload: Uint8Array, coalesce = false): void {
    this.swim.userEvent(name, payload, coalesce);
    this.#flush();
  }

  /**
   * Streams whose first byte is `kind` go to `handler` instead of the SWIM core: requests of
   * layers above it (keyring queries), carried on the gossip port under the same encryption.
   * `kind` must not be one of the core's message kinds.
   */
  handleStreamKind(kind: number, handler: StreamExtension): void {
    this.#streamExtensions.set(kind, handler);
  }

  /** One request/reply exchange with the member at `addr`; undefined on refusal or timeout. */
  async streamRequest(addr: string, bytes: Uint8Array, timeoutMs = this.swim.config.tcpTimeoutMs): Promise<Uint8Array | undefined> {
    if (this.#closed) return undefined;
    return this.#tcp.request(addr, bytes, timeoutMs);
  }

  /** serf's force-leave: broadcasts a leave intent for `name`; false when no such member. */
  forceLeave(name: string, prune: boolean): boolean {
    const known = this.swim.forceLeave(name, prune, this.#now());
    this.#flush();
    return known;
  }

  /** Graceful leave: resolves once the leave was gossiped (or its timeout passed). */
  async leave(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.#leaveWaiter = resolve));
    this.swim.leave(this.#now());
    this.#flush();
    await done;
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    for (const resolve of this.#joinWaiters.values()) resolve({ stage: "exchange", message: "agent shutting down" });
    this.#joinWaiters.clear();
    this.#leaveWaiter?.();
    await Promise.all([this.#udp.close(), this.#tcp.close()]);
  }

  #now(): number {
    return this.#clock.monotonicMs();
  }

  #onPacket(from: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    this.swim.receive(from, bytes, this.#now());
    this.#flush();
  }

  #onStream(from: string, bytes: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    if (this.#closed) return undefined;
    const extension = bytes.length > 0 ? this.#streamExtensions.get(bytes[0]) : undefined;
    if (extension) return extension(from, bytes);
    const reply = this.swim.handleStream(from, bytes, this.#now());
    this.#flush();
    return reply;
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    this.swim.tick(this.#now());
    this.#flush();
  }

  #flush(): void {
    if (this.#closed) return;
    const ready = this.swim.ready();
    for (const event of ready.events) {
      if (event.type === "leaveComplete") {
        this.#leaveWaiter?.();
        this.#leaveWaiter = undefined;
      }
      for (const listener of this.#listeners) listener(event);
    }
    for (const p of ready.packets) this.#udp.send(p.to, p.bytes);
    for (const s of ready.streams) {
      void this.#tcp.exchange(s.to, s.bytes, this.swim.config.tcpTimeoutMs).then((outcome) => {
        if (this.#closed) return;
        const reply = "reply" in outcome ? outcome.reply : undefined;
        const ok = this.swim.receiveStreamReply(s.id, reply, this.#now());
        const failure = "failure" in outcome ? outcome.failure : undefined;
        this.#joinWaiters.get(s.id)?.(ok ? undefined : (failure ?? { stage: "exchange", message: "no answer to the gossip state exchange" }));
        this.#joinWaiters.delete(s.id);
        this.#flush();
      });
    }
    this.#arm();
  }

  #arm(): void {
    const at = this.swim.nextDeadlineMs();
    if (!Number.isFinite(at) || at >= this.#timerAtMs) return;
    this.#timer?.cancel();
    this.#timerAtMs = at;
    this.#timer = this.#clock.setTimer(Math.max(0, at - this.#now()), () => this.#onTimer());
  }
}
