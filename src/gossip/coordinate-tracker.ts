import { Packr } from "msgpackr";
import type { Coordinate } from "../model/catalog.ts";
import type { Rng } from "../runtime/rng.ts";
import type { PingDelegate } from "./swim.ts";
import { CoordinateError, cloneCoordinate, isCompatible, isValidCoordinate, VivaldiClient } from "./vivaldi.ts";

// serf's ping delegate for one gossip pool: our coordinate rides on every ack we send (version
// byte 1, then the msgpack coordinate, as serf's AckPayload), and each direct probe's RTT plus
// the peer's coordinate from its ack moves ours. The peers' coordinates are cached (serf
// GetCachedCoordinate): that is what the WAN view and `consul rtt -wan` read.

const PAYLOAD_VERSION = 1;
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeCoordinatePayload(c: Coordinate): Uint8Array {
  const body = packr.pack({ Vec: c.Vec, Error: c.Error, Adjustment: c.Adjustment, Height: c.Height });
  const out = new Uint8Array(body.length + 1);
  out[0] = PAYLOAD_VERSION;
  out.set(body, 1);
  return out;
}

/** The coordinate in an ack payload, or undefined for anything else (old version, garbage). */
export function decodeCoordinatePayload(bytes: Uint8Array): Coordinate | undefined {
  if (bytes.length < 2 || bytes[0] !== PAYLOAD_VERSION) return undefined;
  let v: unknown;
  try {
    v = packr.unpack(bytes.subarray(1));
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.Vec) || !o.Vec.every((x) => typeof x === "number")) return undefined;
  if (typeof o.Error !== "number" || typeof o.Adjustment !== "number" || typeof o.Height !== "number") return undefined;
  return { Vec: o.Vec as number[], Error: o.Error, Adjustment: o.Adjustment, Height: o.Height };
}

export class CoordinateTracker implements PingDelegate {
  readonly #name: string;
  readonly #client: VivaldiClient;
  readonly #cache = new Map<string, Coordinate>();
  #payload: Uint8Array | undefined;
  #rejected = 0;

  constructor(name: string, rng: Rng) {
    this.#name = name;
    this.#client = new VivaldiClient(rng);
  }

  /** Our own coordinate. */
  get coordinate(): Coordinate {
    return this.#client.coordinate;
  }

  /** Samples dropped (bad payload, invalid or incompatible coordinate, RTT out of range). */
  get rejected(): number {
    return this.#rejected;
  }

  /** The last coordinate a member sent us (ours for our own name); undefined when none yet. */
  cached(name: string): Coordinate | undefined {
    if (name === this.#name) return this.#client.coordinate;
    const c = this.#cache.get(name);
    return c ? cloneCoordinate(c) : undefined;
  }

  /** Forgets a member that left the pool. */
  forget(name: string): void {
    this.#cache.delete(name);
    this.#client.forget(name);
  }

  ackPayload(): Uint8Array {
    this.#payload ??= encodeCoordinatePayload(this.#client.coordinate);
    return this.#payload;
  }

  pingComplete(member: string, rttMs: number, payload: Uint8Array | undefined): void {
    const other = payload ? decodeCoordinatePayload(payload) : undefined;
    if (!other || !isValidCoordinate(other) || !isCompatible(other, this.#client.coordinate)) {
      this.#rejected++;
      return;
    }
    try {
      this.#client.update(member, other, rttMs / 1000);
    } catch (e) {
      if (!(e instanceof CoordinateError)) throw e;
      this.#rejected++;
      return;
    }
    this.#payload = undefined;
    this.#cache.set(member, other);
  }
}
