// What the gossip layer reports as it happens, for metrics (memberlist's go-metrics calls).
// The SWIM core and the gossip transport call these; they never depend on a metrics sink.

export interface GossipObserver {
  /** A probe round finished (acked or timed out): memberlist's probeNode timer. */
  probeFinished(durationMs: number): void;
  /** A datagram of `bytes` (as on the wire) was sent / received. */
  udpSent(bytes: number): void;
  udpReceived(bytes: number): void;
  /** A stream (push-pull, join) was accepted / dialled; `bytes` written to a stream. */
  tcpAccept(): void;
  tcpConnect(): void;
  tcpSent(bytes: number): void;
}
