import type { Coordinate } from "../model/catalog.ts";
import type { Rng } from "../runtime/rng.ts";

// Vivaldi network coordinates as serf computes them (hashicorp/serf coordinate/): an 8-dimension
// Euclidean position plus a height (the access link) and an adjustment (a rolling correction for
// what the Euclidean model cannot express), all in seconds. Each successful direct probe gives one
// RTT sample to a peer whose coordinate rode on the ack; the sample moves our coordinate.
// Pure: no clock; randomness only through the injected Rng (coincident points).

/** serf's coordinate.DefaultConfig(). */
export const VIVALDI_DEFAULTS = {
  dimensionality: 8,
  /** Error of a node that has observed nothing yet, and the cap on error. */
  errorMax: 1.5,
  /** How much one observation may move our confidence (Vivaldi c_e). */
  ce: 0.25,
  /** How much one observation may move our position (Vivaldi c_c). */
  cc: 0.25,
  /** Samples of (rtt − raw distance) kept for the adjustment term. */
  adjustmentWindowSize: 20,
  /** Smallest height (seconds): heights must stay positive. */
  heightMin: 10.0e-6,
  /** RTT samples per peer whose median is used (filters outliers). */
  latencyFilterSize: 3,
  /** Gravity toward the origin against drift: force = −(distance/rho)². */
  gravityRho: 150.0,
} as const;

export type VivaldiConfig = { readonly [K in keyof typeof VIVALDI_DEFAULTS]: number };

/** serf rejects RTT samples above this (client.go maxRTT). */
export const MAX_RTT_SECONDS = 10;
const ZERO_THRESHOLD = 1.0e-6;

export function newCoordinate(config: VivaldiConfig = VIVALDI_DEFAULTS): Coordinate {
  return { Vec: new Array<number>(config.dimensionality).fill(0), Error: config.errorMax, Adjustment: 0, Height: config.heightMin };
}

export function cloneCoordinate(c: Coordinate): Coordinate {
  return { Vec: [...c.Vec], Error: c.Error, Adjustment: c.Adjustment, Height: c.Height };
}

/** Every component finite (serf Coordinate.IsValid). */
export function isValidCoordinate(c: Coordinate): boolean {
  return c.Vec.every(Number.isFinite) && Number.isFinite(c.Error) && Number.isFinite(c.Adjustment) && Number.isFinite(c.Height);
}

export function isCompatible(a: Coordinate, b: Coordinate): boolean {
  return a.Vec.length === b.Vec.length;
}

/** Distance without the adjustment terms (seconds). */
export function rawDistance(a: Coordinate, b: Coordinate): number {
  return magnitude(diff(a.Vec, b.Vec)) + a.Height + b.Height;
}

/** Estimated RTT in seconds (serf Coordinate.DistanceTo): adjusted unless that is not positive. */
export function estimatedRtt(a: Coordinate, b: Coordinate): number {
  const raw = rawDistance(a, b);
  const adjusted = raw + a.Adjustment + b.Adjustment;
  return adjusted > 0 ? adjusted : raw;
}

export class CoordinateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CoordinateError";
  }
}

/** One node's view of its own coordinate (serf coordinate.Client). */
export class VivaldiClient {
  readonly #config: VivaldiConfig;
  readonly #rng: Rng;
  readonly #origin: Coordinate;
  #coord: Coordinate;
  readonly #adjustmentSamples: number[];
  #adjustmentIndex = 0;
  readonly #latencySamples = new Map<string, number[]>();
  #resets = 0;

  constructor(rng: Rng, config: VivaldiConfig = VIVALDI_DEFAULTS) {
    this.#config = config;
    this.#rng = rng;
    this.#origin = newCoordinate(config);
    this.#coord = newCoordinate(config);
    this.#adjustmentSamples = new Array<number>(config.adjustmentWindowSize).fill(0);
  }

  get coordinate(): Coordinate {
    return cloneCoordinate(this.#coord);
  }

  /** How often the coordinate went invalid and was reset to the origin. */
  get resets(): number {
    return this.#resets;
  }

  /** Estimated RTT in seconds from us to `other`. */
  distanceTo(other: Coordinate): number {
    return estimatedRtt(this.#coord, other);
  }

  /** Drops a peer's RTT samples (it left the pool). */
  forget(node: string): void {
    this.#latencySamples.delete(node);
  }

  /**
   * One observation: `rttSeconds` to `node`, whose coordinate is `other`. Throws CoordinateError
   * (and changes nothing) for an invalid or incompatible coordinate or an RTT out of range.
   */
  update(node: string, other: Coordinate, rttSeconds: number): Coordinate {
    if (!isCompatible(this.#coord, other)) throw new CoordinateError("dimensions aren't compatible");
    if (!isValidCoordinate(other)) throw new CoordinateError("coordinate is invalid");
    if (!(rttSeconds >= 0 && rttSeconds <= MAX_RTT_SECONDS)) {
      throw new CoordinateError(`round trip time not in valid range, duration ${rttSeconds}s is not a positive value less than ${MAX_RTT_SECONDS}s`);
    }
    const rtt = this.#latencyFilter(node, rttSeconds);
    this.#updateVivaldi(other, rtt);
    this.#updateAdjustment(other, rtt);
    this.#updateGravity();
    if (!isValidCoordinate(this.#coord)) {
      this.#resets++;
      this.#coord = newCoordinate(this.#config);
    }
    return this.coordinate;
  }

  /** Median of the last few samples to this peer. */
  #latencyFilter(node: string, rtt: number): number {
    const samples = this.#latencySamples.get(node) ?? [];
    samples.push(rtt);
    if (samples.length > this.#config.latencyFilterSize) samples.shift();
    this.#latencySamples.set(node, samples);
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  #updateVivaldi(other: Coordinate, rttSample: number): void {
    const c = this.#config;
    const dist = estimatedRtt(this.#coord, other);
    const rtt = Math.max(rttSample, ZERO_THRESHOLD);
    const wrongness = Math.abs(dist - rtt) / rtt;
    const totalError = Math.max(this.#coord.Error + other.Error, ZERO_THRESHOLD);
    const weight = this.#coord.Error / totalError;
    this.#coord.Error = Math.min(c.ce * weight * wrongness + this.#coord.Error * (1 - c.ce * weight), c.errorMax);
    const force = c.cc * weight * (rtt - dist);
    this.#coord = this.#applyForce(this.#coord, force, other);
  }

  #updateAdjustment(other: Coordinate, rtt: number): void {
    const size = this.#config.adjustmentWindowSize;
    if (size === 0) return;
    // The existing adjustments do not figure in: raw distance.
    this.#adjustmentSamples[this.#adjustmentIndex] = rtt - rawDistance(this.#coord, other);
    this.#adjustmentIndex = (this.#adjustmentIndex + 1) % size;
    let sum = 0;
    for (const s of this.#adjustmentSamples) sum += s;
    this.#coord.Adjustment = sum / (2 * size);
  }

  #updateGravity(): void {
    const dist = estimatedRtt(this.#origin, this.#coord);
    const force = -1 * Math.pow(dist / this.#config.gravityRho, 2);
    this.#coord = this.#applyForce(this.#coord, force, this.#origin);
  }

  /** Moves `c` by `force` along the unit vector pointing away from `other` (serf ApplyForce). */
  #applyForce(c: Coordinate, force: number, other: Coordinate): Coordinate {
    const out = cloneCoordinate(c);
    const { unit, mag } = this.#unitVectorAt(c.Vec, other.Vec);
    for (let i = 0; i < out.Vec.length; i++) out.Vec[i] += unit[i] * force;
    if (mag > ZERO_THRESHOLD) {
      out.Height = Math.max((out.Height + other.Height) * force / mag + out.Height, this.#config.heightMin);
    }
    return out;
  }

  /** Unit vector from b toward a and |a − b|; a random direction when they coincide. */
  #unitVectorAt(a: readonly number[], b: readonly number[]): { unit: number[]; mag: number } {
    const d = diff(a, b);
    const mag = magnitude(d);
    if (mag > ZERO_THRESHOLD) return { unit: d.map((x) => x / mag), mag };
    const r = d.map(() => this.#rng.float() - 0.5);
    const rmag = magnitude(r);
    if (rmag > ZERO_THRESHOLD) return { unit: r.map((x) => x / rmag), mag: 0 };
    const axis = new Array<number>(a.length).fill(0);
    axis[0] = 1;
    return { unit: axis, mag: 0 };
  }
}

function diff(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

function magnitude(v: readonly number[]): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Math.sqrt(sum);
}
