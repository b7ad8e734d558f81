// Blocking queries resume from the X-Consul-Index of the previous answer.
import type { ConsulResponse } from "./http-client.ts";

/** The X-Consul-Index header as an exact uint64 (event indexes exceed 2^53); 0 when absent. */
export function consulIndexOf(response: ConsulResponse): bigint {
  const raw = response.headers["x-consul-index"];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || !/^\d+$/.test(text)) return 0n;
  return BigInt(text);
}
