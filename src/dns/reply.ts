import { encodingLength, type Answer, type OptAnswer, type Packet, type PacketOpt, type Question } from "dns-packet";
import type { DnsSettings } from "./dns-settings.ts";
import { RCODES, type Rcode } from "./records.ts";
import type { Answered } from "./resolver.ts";

// Turns a resolver answer into the reply packet: header flags, EDNS0, and the size limits of
// spec/dns.md section 11. Pure: the same request and answer always give the same packet.

export type DnsTransport = "udp" | "tcp";

export const HEADER_FLAGS = {
  AA: 1 << 10,
  TC: 1 << 9,
  RD: 1 << 8,
  RA: 1 << 7,
  OPCODE_MASK: 0xf << 11,
} as const;

/** A plain UDP reply must fit the classic 512 bytes. */
const UDP_CLASSIC_SIZE = 512;
/** Largest UDP payload honoured from an EDNS0 client (65535 minus IP and UDP headers). */
const UDP_EDNS_MAX_SIZE = 65467;
/** Consul keeps this much headroom under the size limit (Go's `resp.Len() > maxSize-7`). */
const SIZE_HEADROOM = 8;
const UDP_HARD_ANSWER_LIMIT = 8;
const TCP_MAX_SIZE = 65523;
const TCP_MAX_ANSWERS = 4096;
const TCP_MAX_SRV_ANSWERS = 1024;
/** Over the limit by more than this, answers are cut by binary search instead of one by one. */
const BINARY_TRIM_THRESHOLD = 100;

export function requestOpt(req: Packet): OptAnswer | undefined {
  for (const r of req.additionals ?? []) if (r.type === "OPT") return r;
  return undefined;
}

/** The OPT record a reply carries when the request had one: same UDP size, ECS echoed with scope 0. */
export function replyOpt(reqOpt: OptAnswer): OptAnswer {
  const options: PacketOpt[] = [];
  for (const o of reqOpt.options ?? []) {
    if (o.code === 8 && "ip" in o && o.ip !== undefined) {
      options.push({ code: 8, family: o.family, sourcePrefixLength: o.sourcePrefixLength, scopePrefixLength: 0, ip: o.ip });
    }
  }
  return { type: "OPT", name: ".", udpPayloadSize: reqOpt.udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options };
}

export interface ReplyOptions {
  transport: DnsTransport;
  settings: DnsSettings;
  /** Authoritative (our zone) or not (relayed failures). */
  authoritative: boolean;
}

function headerFlags(req: Packet, rcode: Rcode, opts: { authoritative: boolean; recursionAvailable: boolean }): number {
  const reqFlags = req.flags ?? 0;
  let flags = (reqFlags & HEADER_FLAGS.OPCODE_MASK) | (reqFlags & HEADER_FLAGS.RD) | RCODES[rcode];
  if (opts.authoritative) flags |= HEADER_FLAGS.AA;
  if (opts.recursionAvailable) flags |= HEADER_FLAGS.RA;
  return flags;
}

/** A reply carrying only the question and an RCODE (REFUSED, SERVFAIL, NOTIMP, FORMERR). */
export function rcodeReply(req: Packet, rcode: Rcode, opts: { authoritative: boolean; recursionAvailable: boolean }): Packet {
  const reqOpt = requestOpt(req);
  return {
    type: "response",
    id: req.id ?? 0,
    flags: headerFlags(req, rcode, opts),
    questions: req.questions ?? [],
    answers: [],
    authorities: [],
    additionals: reqOpt ? [replyOpt(reqOpt)] : [],
  };
}

export interface BuiltReply {
  packet: Packet;
  /** Answers were dropped to fit the limits. */
  trimmed: boolean;
}

export function buildReply(req: Packet, question: Question, result: Answered, opts: ReplyOptions): BuiltReply {
  const { settings, transport } = opts;
  const reqOpt = requestOpt(req);
  const packet: Packet = {
    type: "response",
    id: req.id ?? 0,
    flags: headerFlags(req, result.rcode, { authoritative: true, recursionAvailable: settings.recursors.length > 0 }),
    questions: [question],
    answers: result.answers,
    authorities: result.authorities,
    additionals: result.additionals,
  };
  const opt = reqOpt ? replyOpt(reqOpt) : undefined;
  const trimmed = transport === "udp" ? trimUdp(packet, opt, settings.udpAnswerLimit) : trimTcp(packet, opt, question.type === "SRV");
  if (opt) packet.additionals = [...(packet.additionals ?? []), opt];
  if (trimmed && settings.enableTruncate) packet.flags = (packet.flags ?? 0) | HEADER_FLAGS.TC;
  return { packet, trimmed };
}

function trimUdp(packet: Packet, opt: OptAnswer | undefined, udpAnswerLimit: number): boolean {
  let maxSize = UDP_CLASSIC_SIZE;
  if (opt && opt.udpPayloadSize > maxSize) maxSize = Math.min(opt.udpPayloadSize, UDP_EDNS_MAX_SIZE);
  const maxAnswers = maxSize === UDP_CLASSIC_SIZE ? Math.min(UDP_HARD_ANSWER_LIMIT, udpAnswerLimit) : Infinity;
  return trimTo(packet, opt, maxSize, maxAnswers);
}

function trimTcp(packet: Packet, opt: OptAnswer | undefined, isSrv: boolean): boolean {
  return trimTo(packet, opt, TCP_MAX_SIZE + SIZE_HEADROOM, isSrv ? TCP_MAX_SRV_ANSWERS : TCP_MAX_ANSWERS);
}

/**
 * Consul's trim loop: cap the answer count, then (measuring uncompressed, the conservative
 * size) drop the Authority section and answers from the end until the reply fits. A single
 * oversized answer is still sent. Additional records are re-synced to the remaining SRV targets.
 */
function trimTo(packet: Packet, opt: OptAnswer | undefined, maxSize: number, maxAnswers: number): boolean {
  const answers = packet.answers ?? [];
  const original = answers.length;
  const allExtras = packet.additionals ?? [];
  let extraIndex: Map<string, Answer> | undefined;
  const limit = maxSize - SIZE_HEADROOM;
  const sizeOf = (): number => encodingLength(opt ? { ...packet, additionals: [...(packet.additionals ?? []), opt] } : packet);
  const cut = (n: number): void => {
    packet.answers = answers.slice(0, n);
    if (allExtras.length > 0) {
      extraIndex ??= indexByName(allExtras);
      packet.additionals = syncExtra(extraIndex, packet.answers);
    }
  };
  if (answers.length > maxAnswers) cut(maxAnswers);
  let size = sizeOf();
  while ((packet.answers ?? []).length > 1 && size > limit) {
    if ((packet.authorities ?? []).length > 0) packet.authorities = [];
    const current = (packet.answers ?? []).length;
    if (size - maxSize > BINARY_TRIM_THRESHOLD) {
      cut(largestFitting(current, limit, (n) => {
        cut(n);
        return sizeOf();
      }));
    } else {
      cut(current - 1);
    }
    size = sizeOf();
  }
  return (packet.answers ?? []).length < original;
}

/** Binary search for the largest answer count in [1, current) whose reply fits. */
function largestFitting(current: number, limit: number, sizeWith: (n: number) => number): number {
  let lo = 1;
  let hi = current - 1;
  let best = 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sizeWith(mid) <= limit) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

/** First record per owner name (lower-cased), as Consul's indexRRs keeps. */
function indexByName(records: Answer[]): Map<string, Answer> {
  const index = new Map<string, Answer>();
  for (const r of records) {
    const key = r.name.toLowerCase();
    if (!index.has(key)) index.set(key, r);
  }
  return index;
}

/** Additional records for the SRV targets still answered, following CNAME chains. */
function syncExtra(index: Map<string, Answer>, answers: Answer[]): Answer[] {
  const extra: Answer[] = [];
  const resolved = new Set<string>();
  for (const a of answers) {
    if (a.type !== "SRV") continue;
    let target = a.data.target.toLowerCase();
    while (!resolved.has(target)) {
      resolved.add(target);
      const rr = index.get(target);
      if (!rr) break;
      extra.push(rr);
      if (rr.type !== "CNAME") break;
      target = rr.data.toLowerCase();
    }
  }
  return extra;
}
