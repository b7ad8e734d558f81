import type { Logger } from "../runtime/logger.ts";
import type { StreamExtension } from "../transport/gossip-runner.ts";
import { isKeyringOp, type KeyringOp, type LocalKeyring, type NodeKeyResponse } from "./local-keyring.ts";
import type { Membership } from "./membership.ts";
import { MEMBER_STATUS } from "../model/members.ts";

// A keyring operation across one gossip pool (serf's key manager). serf broadcasts an internal
// query and gathers the answers; our gossip core has user events but no query/response, so the
// asking server sends the request to every alive member directly, as a request/reply stream on
// the member's gossip port (under the pool's encryption, so only key holders are heard), answers
// for itself in process, and sums the answers the way serf's KeyResponse does: a member that
// fails counts in `N/M nodes reported failure`, one that does not answer in
// `N/M nodes reported success`, where M is the number of alive members.

/** First byte of a keyring stream; outside the SWIM core's message kinds (1–10). */
const KEYRING_STREAM_KIND = 0x6b;
/** How long a member has to answer (serf's default query timeout for a small LAN is ~3 s). */
const KEY_QUERY_TIMEOUT_MS = 5_000;

/** The pool's part of /v1/operator/keyring (Consul's structs.KeyringResponse). */
export interface KeyringPoolResponse {
  WAN: boolean;
  Datacenter: string;
  Segment: string;
  Messages: Record<string, string>;
  Keys: Record<string, number>;
  PrimaryKeys: Record<string, number>;
  NumNodes: number;
  /** Empty when every member answered with success. */
  Error: string;
}

/** What the keyring endpoint runs: one operation on every pool this server is in. */
export interface KeyringOperator {
  /** `localOnly` (list only): this datacenter's LAN pool, no WAN traffic. */
  operate(op: KeyringOp, key: string, options?: { localOnly?: boolean }): Promise<KeyringPoolResponse[]>;
}

/** The gossip pool's stream hooks (GossipMembership has them; a pool of one does not). */
export interface KeyringStreams {
  handleStreams(kind: number, handler: StreamExtension): void;
  requestStream(addr: string, bytes: Uint8Array, timeoutMs: number): Promise<Uint8Array | undefined>;
}

interface KeyRequest {
  Op: KeyringOp;
  Key: string;
}

export function encodeKeyRequest(op: KeyringOp, key: string): Uint8Array {
  return withKind(JSON.stringify({ Op: op, Key: key } satisfies KeyRequest));
}

export function decodeKeyRequest(bytes: Uint8Array): KeyRequest | undefined {
  const value = decodeJson(bytes);
  if (typeof value !== "object" || value === null) return undefined;
  const { Op, Key } = value as Record<string, unknown>;
  return isKeyringOp(Op) && typeof Key === "string" ? { Op, Key } : undefined;
}

export function encodeKeyResponse(response: NodeKeyResponse): Uint8Array {
  return withKind(JSON.stringify(response));
}

export function decodeKeyResponse(bytes: Uint8Array): NodeKeyResponse | undefined {
  const value = decodeJson(bytes);
  if (typeof value !== "object" || value === null) return undefined;
  const { Result, Message, Keys, PrimaryKey } = value as Record<string, unknown>;
  if (typeof Result !== "boolean" || typeof Message !== "string" || typeof PrimaryKey !== "string") return undefined;
  if (!Array.isArray(Keys) || !Keys.every((k): k is string => typeof k === "string")) return undefined;
  return { Result, Message, Keys, PrimaryKey };
}

function withKind(json: string): Uint8Array {
  const body = Buffer.from(json, "utf8");
  const out = new Uint8Array(body.length + 1);
  out[0] = KEYRING_STREAM_KIND;
  out.set(body, 1);
  return out;
}

function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.length < 1 || bytes[0] !== KEYRING_STREAM_KIND) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes.subarray(1)).toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** Go's base64.StdEncoding.DecodeString verdict: undefined when valid, else its error text. */
export function base64Problem(key: string): string | undefined {
  const at = (offset: number): string => `illegal base64 data at input byte ${offset}`;
  const bad = key.search(/[^A-Za-z0-9+/=]/);
  if (bad !== -1) return at(bad);
  const firstPad = key.indexOf("=");
  const dataEnd = firstPad === -1 ? key.length : firstPad;
  // An incomplete last quantum fails where it starts; padding only closes the last one.
  if (key.length % 4 !== 0) return at(dataEnd - (dataEnd % 4));
  if (firstPad !== -1 && (key.length - firstPad > 2 || /[^=]/.test(key.slice(firstPad)))) return at(firstPad);
  return undefined;
}

/** serf's KeyResponse summed from each alive member's answer (undefined: no answer). */
export function summarizeKeyAnswers(answers: ReadonlyMap<string, NodeKeyResponse | undefined>, numNodes: number): Omit<KeyringPoolResponse, "WAN" | "Datacenter" | "Segment"> {
  const Messages: Record<string, string> = {};
  const Keys: Record<string, number> = {};
  const PrimaryKeys: Record<string, number> = {};
  let responded = 0;
  let failed = 0;
  for (const [node, answer] of answers) {
    if (!answer) continue;
    responded++;
    if (!answer.Result) {
      Messages[node] = answer.Message;
      failed++;
    }
    for (const key of answer.Keys) Keys[key] = (Keys[key] ?? 0) + 1;
    if (answer.PrimaryKey !== "") PrimaryKeys[answer.PrimaryKey] = (PrimaryKeys[answer.PrimaryKey] ?? 0) + 1;
  }
  let error = "";
  if (failed > 0) error = `${failed}/${numNodes} nodes reported failure`;
  else if (responded !== numNodes) error = `${responded}/${numNodes} nodes reported success`;
  return { Messages, Keys, PrimaryKeys, NumNodes: numNodes, Error: error };
}

export interface KeyringPoolDeps {
  /** True for the WAN pool (servers of every datacenter). */
  wan: boolean;
  datacenter: string;
  nodeName: string;
  membership: Pick<Membership, "members">;
  streams: KeyringStreams | undefined;
  local: LocalKeyring;
  logger: Logger;
}

/** Runs keyring operations across one pool and answers the other members' requests. */
export class KeyringPool {
  readonly #deps: KeyringPoolDeps;
  readonly wan: boolean;
  /** One operation at a time per pool, as serf's key manager holds its lock. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: KeyringPoolDeps) {
    this.#deps = deps;
    this.wan = deps.wan;
    deps.streams?.handleStreams(KEYRING_STREAM_KIND, (_from, bytes) => this.#answer(bytes));
  }

  run(op: KeyringOp, key: string): Promise<KeyringPoolResponse> {
    const result = this.#queue.then(() => this.#run(op, key));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #run(op: KeyringOp, key: string): Promise<KeyringPoolResponse> {
    const { wan, datacenter, nodeName, membership, streams, local } = this.#deps;
    const pool = { WAN: wan, Datacenter: datacenter, Segment: "" };
    const problem = op === "list" ? undefined : base64Problem(key);
    if (problem !== undefined) return { ...pool, Messages: {}, Keys: {}, PrimaryKeys: {}, NumNodes: 0, Error: problem };
    const alive = membership.members().filter((m) => m.status === MEMBER_STATUS.alive);
    const request = encodeKeyRequest(op, key);
    const answers = new Map<string, NodeKeyResponse | undefined>();
    // Our own answer first: after a use-key the requests go out under the new primary, which
    // every member installed in the step before.
    if (alive.some((m) => m.name === nodeName)) answers.set(nodeName, await local.handle(op, key));
    const others = alive.filter((m) => m.name !== nodeName);
    const replies = await Promise.all(
      others.map(async (m) => {
        const host = m.addr.includes(":") ? `[${m.addr}]` : m.addr;
        const reply = streams ? await streams.requestStream(`${host}:${m.port}`, request, KEY_QUERY_TIMEOUT_MS) : undefined;
        return [m.name, reply ? decodeKeyResponse(reply) : undefined] as const;
      }),
    );
    for (const [name, answer] of replies) answers.set(name, answer);
    return { ...pool, ...summarizeKeyAnswers(answers, alive.length) };
  }

  async #answer(bytes: Uint8Array): Promise<Uint8Array | undefined> {
    const request = decodeKeyRequest(bytes);
    if (!request) return undefined;
    this.#deps.logger.info(`Received ${request.Op === "list" ? "list-keys" : `${request.Op}-key`} query`);
    const answer = await this.#deps.local.handle(request.Op, request.Key);
    if (!answer.Result) this.#deps.logger.error("keyring operation failed", { op: request.Op, error: answer.Message });
    return encodeKeyResponse(answer);
  }
}

/** A server's keyring operations: the WAN pool first (as Consul answers), then the LAN pool. */
export function keyringOperator(pools: readonly KeyringPool[]): KeyringOperator {
  return {
    async operate(op, key, options) {
      const out: KeyringPoolResponse[] = [];
      for (const pool of pools) if (!(pool.wan && options?.localOnly === true)) out.push(await pool.run(op, key));
      return out;
    },
  };
}
