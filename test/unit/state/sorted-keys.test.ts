import { test } from "node:test";
import assert from "node:assert/strict";
import { SortedKeys } from "../../../src/state/sorted-keys.ts";

// Keys in order (a restore's rows) append; any other order is placed by binary search. Both
// must give the same sorted set, duplicates included.

function all(keys: SortedKeys): string[] {
  return [...keys.withPrefix("")];
}

test("sorted keys - in order, reversed, shuffled and repeated inserts give one sorted set", () => {
  const sorted = Array.from({ length: 600 }, (_, i) => `config/${Math.floor(i / 64)}/${i % 64}`).sort();
  const shuffled = sorted.map((k, i) => [k, (i * 7919) % 600] as const).sort((a, b) => a[1] - b[1]).map(([k]) => k);
  for (const order of [sorted, [...sorted].reverse(), shuffled, [...sorted, ...sorted], [...shuffled, ...sorted]]) {
    const keys = new SortedKeys();
    for (const k of order) keys.insert(k);
    assert.deepEqual(all(keys), sorted);
    assert.equal(keys.size, 600);
  }
});

test("sorted keys - appending after deletes and before a smaller key keeps the order", () => {
  const keys = new SortedKeys();
  for (const k of ["a", "b", "c"]) keys.insert(k);
  keys.delete("c");
  keys.insert("d");
  keys.insert("b");
  keys.insert("aa");
  keys.insert("");
  assert.deepEqual(all(keys), ["", "a", "aa", "b", "d"]);
  assert.deepEqual([...keys.withPrefix("a")], ["a", "aa"]);
});
