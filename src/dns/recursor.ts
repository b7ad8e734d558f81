import type { Upstream, RecursorStrategy } from "./dns-settings.ts";
import type { DnsTransport } from "./reply.ts";
import { RCODES } from "./records.ts";
import { isTruncated, rcodeOf } from "./wire.ts";
import { shuffleInPlace } from "./healthy-instances.ts";

// Forwarding names outside the zone (spec/dns.md section 10): the request goes to each
// upstream in turn (listed or random order) over the transport it arrived on; the first reply
// that is NOERROR, NXDOMAIN or truncated is relayed as-is. undefined = every upstream failed.

export type Exchange = (upstream: Upstream, request: Buffer, transport: DnsTransport, timeoutMs: number) => Promise<Buffer>;

export interface RecursorOptions {
  upstreams: readonly Upstream[];
  strategy: RecursorStrategy;
  timeoutMs: number;
  random: () => number;
  exchange: Exchange;
  onFailure?: (upstream: Upstream, error: unknown) => void;
}

export async function forwardToRecursors(request: Buffer, transport: DnsTransport, opts: RecursorOptions): Promise<Buffer | undefined> {
  const order = opts.strategy === "random" ? shuffleInPlace([...opts.upstreams], opts.random) : opts.upstreams;
  for (const upstream of order) {
    try {
      const reply = await opts.exchange(upstream, request, transport, opts.timeoutMs);
      const rcode = rcodeOf(reply);
      if (rcode === RCODES.NOERROR || rcode === RCODES.NXDOMAIN || isTruncated(reply)) return reply;
      opts.onFailure?.(upstream, new Error(`upstream answered rcode ${rcode}`));
    } catch (err) {
      opts.onFailure?.(upstream, err);
    }
  }
  return undefined;
}
