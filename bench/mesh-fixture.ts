// Child process for the mesh bench: either the echo application (`echo <port>`: every byte
// back, so a 1 KiB request gets a 1 KiB answer) or a plain node:net relay (`relay <listen>
// <target>`), the yardstick a sidecar is compared with: same splice, no TLS, no identity.
// `tls-in`/`tls-out <listen> <target> <dir>` are the bare mTLS reference for set-up cost: the
// same splice over mutual TLS with the sidecars' own leaves and roots (files in <dir>), the
// client side resuming sessions as the proxy does, but no authorisation and no discovery.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import tls from "node:tls";

const [mode, a, b] = process.argv.slice(2);

if (mode === "echo") {
  net.createServer({ noDelay: true }, (s) => {
    s.on("error", () => s.destroy());
    s.pipe(s);
  }).listen({ port: Number(a), host: "127.0.0.1", backlog: 4096 });
} else if (mode === "relay") {
  net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: Number(b), host: "127.0.0.1", noDelay: true, allowHalfOpen: true });
    const destroy = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", destroy);
    upstream.on("error", destroy);
    client.on("close", destroy);
    upstream.on("close", destroy);
    client.pipe(upstream);
    upstream.pipe(client);
  }).listen({ port: Number(a), host: "127.0.0.1", backlog: 4096 });
} else if ((mode === "tls-in" || mode === "tls-out") && process.argv[5]) {
  const dir = process.argv[5];
  const file = (name: string): string => readFileSync(join(dir, name), "utf8");
  const who = mode === "tls-in" ? "db" : "web";
  const material = { key: file(`${who}.key`), cert: file(`${who}.pem`), ca: [file("roots.pem")], minVersion: "TLSv1.2" as const };
  const splice = (client: net.Socket, upstream: net.Socket): void => {
    const destroy = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on("error", destroy);
      s.on("close", destroy);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  if (mode === "tls-in") {
    tls.createServer({ ...material, requestCert: true, rejectUnauthorized: true, noDelay: true, allowHalfOpen: true }, (client) => {
      splice(client, net.connect({ port: Number(b), host: "127.0.0.1", noDelay: true, allowHalfOpen: true }));
    }).listen({ port: Number(a), host: "127.0.0.1", backlog: 4096 });
  } else {
    const context = tls.createSecureContext(material);
    let session: Buffer | undefined;
    net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
      const upstream = tls.connect({ port: Number(b), host: "127.0.0.1", secureContext: context, session, checkServerIdentity: () => undefined });
      upstream.setNoDelay(true);
      upstream.on("session", (s: Buffer) => (session = s));
      splice(client, upstream);
    }).listen({ port: Number(a), host: "127.0.0.1", backlog: 4096 });
  }
} else {
  process.stderr.write(`usage: mesh-fixture.ts echo <port> | relay <listen> <target> | tls-in|tls-out <listen> <target> <dir>\n`);
  process.exit(2);
}
