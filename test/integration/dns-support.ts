import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { decode, encode, type DecodedPacket, type Packet } from "dns-packet";
import { startDnsServer, type RunningDnsServer } from "../../src/dns/dns-server.ts";
import { dnsSettings, type DnsSettings } from "../../src/dns/dns-settings.ts";
import { silentLogger } from "../../src/runtime/logger.ts";
import { systemRng } from "../../src/runtime/rng.ts";
import { registerCommand, type InstanceSpec } from "../unit/dns/catalog-fixture.ts";
import { startTestAgent, type TestAgent } from "../support/test-agent.ts";

// A test agent with the DNS server over its state, and tiny real-socket DNS clients.

export interface DnsTestAgent {
  agent: TestAgent;
  dns: RunningDnsServer;
  register(spec: InstanceSpec): Promise<void>;
  stop(): Promise<void>;
}

export async function startDnsTestAgent(settings: Partial<DnsSettings> = {}): Promise<DnsTestAgent> {
  const agent = await startTestAgent();
  const dns = await startDnsServer(
    { state: agent.running.state, settings: dnsSettings(settings), logger: silentLogger, rng: systemRng },
    { host: "127.0.0.1", port: 0 },
  );
  return {
    agent,
    dns,
    async register(spec) {
      const { result } = await agent.running.agent.consensus.propose(registerCommand(spec));
      if (!result.ok) throw new Error(result.error);
    },
    async stop() {
      await dns.close();
      await agent.stop();
    },
  };
}

let nextId = 1;

export function queryPacket(name: string, type: string, extra: Partial<Packet> = {}): Buffer {
  nextId = (nextId + 1) & 0xffff;
  return encode({ type: "query", id: nextId, flags: 1 << 8, questions: [{ name, type: type as "A", class: "IN" }], ...extra });
}

export function udpExchange(port: number, message: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no UDP reply"));
    }, timeoutMs);
    socket.once("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(message, port, "127.0.0.1");
  });
}

export function tcpExchange(port: number, message: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no TCP reply"));
    }, timeoutMs);
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("connect", () => {
      const frame = Buffer.alloc(2 + message.length);
      frame.writeUInt16BE(message.length, 0);
      message.copy(frame, 2);
      socket.write(frame);
    });
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      }
    });
  });
}

export async function askUdp(port: number, name: string, type: string, extra: Partial<Packet> = {}): Promise<DecodedPacket> {
  return decode(await udpExchange(port, queryPacket(name, type, extra)));
}

export async function askTcp(port: number, name: string, type: string): Promise<DecodedPacket> {
  return decode(await tcpExchange(port, queryPacket(name, type)));
}

export function dataOf(p: DecodedPacket): unknown[] {
  return (p.answers ?? []).map((a) => ("data" in a ? a.data : undefined));
}
