// Sorted string set for ordered prefix scans (KV listing is sorted by key, like Consul's radix tree).
export class SortedKeys {
  readonly #keys: string[] = [];

  get size(): number {
    return this.#keys.length;
  }

  #lowerBound(k: string): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#keys[mid] < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(k: string): void {
    const i = this.#lowerBound(k);
    if (this.#keys[i] !== k) this.#keys.splice(i, 0, k);
  }

  delete(k: string): void {
    const i = this.#lowerBound(k);
    if (this.#keys[i] === k) this.#keys.splice(i, 1);
  }

  *withPrefix(prefix: string): Generator<string> {
    for (let i = this.#lowerBound(prefix); i < this.#keys.length; i++) {
      const k = this.#keys[i];
      if (!k.startsWith(prefix)) return;
      yield k;
    }
  }
}
