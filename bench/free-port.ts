import { createSocket } from "node:dgram";
import { createServer } from "node:net";

// A port the kernel just handed out for TCP (bind port 0) and that UDP can also bind, since the
// agent's DNS and gossip ports listen on both. Several asked at once stay distinct.

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindTcpZero();
    if (handedOut.has(port)) continue;
    if (!(await udpBindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("could not find a free port");
}

function bindTcpZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function udpBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}
