import assert from "node:assert/strict";

/**
 * Polls `check` until it returns true; a check that throws counts as "not yet" (an agent still
 * starting refuses connections). Fails the test, naming `what`, once `timeoutMs` has passed.
 */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** GETs `url` and parses its JSON; anything but 200 throws with the status and body. */
export async function getJson<T>(url: string, timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
