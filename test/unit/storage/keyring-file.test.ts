import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyringFileError, lanKeyringPath, readKeyringFile, writeKeyringFile } from "../../../src/storage/keyring-file.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "consulate-keyring-file-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("the LAN keyring lives at <data-dir>/serf/local.keyring", () => {
  assert.equal(lanKeyringPath("/var/consul"), join("/var/consul", "serf", "local.keyring"));
});

test("a saved keyring reads back in order, in Go's MarshalIndent layout, mode 0600", () =>
  withDir(async (dir) => {
    const path = lanKeyringPath(dir);
    const keys = ["pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", "HrUf/Ntk8vQ3q1NOzWgXj3iA4VFgfkyQGUa3sVLsV1g="];
    await writeKeyringFile(path, keys);
    assert.deepEqual(await readKeyringFile(path), keys);
    assert.equal(await readFile(path, "utf8"), `[\n  "${keys[0]}",\n  "${keys[1]}"\n]`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await writeKeyringFile(path, [keys[1]]);
    assert.deepEqual(await readKeyringFile(path), [keys[1]]);
  }));

test("a missing file reads as undefined; a malformed or empty one is refused", () =>
  withDir(async (dir) => {
    const path = lanKeyringPath(dir);
    assert.equal(await readKeyringFile(path), undefined);
    await mkdir(join(dir, "serf"));
    await writeFile(path, "not json");
    await assert.rejects(readKeyringFile(path), KeyringFileError);
    await writeFile(path, '{"key": "x"}');
    await assert.rejects(readKeyringFile(path), /JSON array of base64 key strings/);
    await writeFile(path, "[]");
    await assert.rejects(readKeyringFile(path), /no keys present in keyring/);
  }));
