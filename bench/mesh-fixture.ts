// Child process for the mesh bench: either the echo application (`echo <port>`: every byte
// back, so a 1 KiB request gets a 1 KiB answer) or a plain node:net relay (`relay <listen>
// <target>`), the yardstick a sidecar is compared with: same splice, no TLS, no identity.
import net from "node:net";

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
} else {
  process.stderr.write(`usage: mesh-fixture.ts echo <port> | relay <listen> <target>\n`);
  process.exit(2);
}
