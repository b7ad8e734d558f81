import { createSocket } from "node:dgram";
import type { Socket } from "node:dgram";
import type { GossipObserver } from "../gossip/observer.ts";
import type { GossipEncryption } from "./gossip-crypto.ts";

// Gossip datagrams (probes, acks, piggybacked broadcasts). Encrypted with the keyring when one
// is configured (under its encrypt_verify_* mode); a datagram that fails to decrypt is dropped
// and counted, never fatal.

export interface GossipUdp {
  readonly port: number;
  send(addr: string, bytes: Uint8Array): void;
  close(): Promise<void>;
  readonly stats: { sent: number; received: number; rejected: number };
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const at = addr.lastIndexOf(":");
  const host = addr.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(addr.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`bad gossip address ${addr}`);
  return { host, port };
}

export async function bindGossipUdp(
  listen: { host: string; port: number },
  onPacket: (fromAddr: string, bytes: Uint8Array) => void,
  encryption?: GossipEncryption,
  observer?: GossipObserver,
): Promise<GossipUdp> {
  const socket: Socket = createSocket({ type: listen.host.includes(":") ? "udp6" : "udp4" });
  const stats = { sent: 0, received: 0, rejected: 0 };
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(listen.port, listen.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.on("error", () => {
    // Send errors to a vanished peer surface here (ICMP unreachable); the probe logic copes.
  });
  socket.on("message", (msg, rinfo) => {
    observer?.udpReceived(msg.length);
    let bytes: Uint8Array = msg;
    if (encryption) {
      try {
        bytes = encryption.open(msg);
      } catch {
        stats.rejected++;
        return;
      }
    }
    stats.received++;
    onPacket(`${rinfo.address}:${rinfo.port}`, bytes);
  });
  return {
    port: socket.address().port,
    stats,
    send(addr, bytes) {
      const { host, port } = splitHostPort(addr);
      const payload = encryption ? encryption.seal(bytes) : bytes;
      stats.sent++;
      observer?.udpSent(payload.length);
      socket.send(payload, port, host);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
