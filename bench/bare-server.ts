import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";

// The yardstick: the least a node:http server can do per request. Every agent figure is divided
// by this server's figure from the same run, on the same machine, under the same load tool.
//
//   node --import tsx bench/bare-server.ts <port> [body-file|-] [https-port cert-file key-file]
//
// Any request is answered with one fixed small JSON body once its body has been read. For the
// fan-out case, a GET carrying `wait=` is parked instead, and the next PUT releases every parked
// request — the bare minimum a blocking query costs. With a body file it answers that file's
// bytes instead: the ceiling for an answer of that size. With an HTTPS port it also answers the
// same way over node:https with that certificate (the yardstick of the TLS suite).

const SMALL_BODY = Buffer.from(JSON.stringify({ Key: "bench/key", Value: "dmFsdWU=", Flags: 0, ModifyIndex: 12 }));
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error("usage: bare-server.ts <port> [body-file]");
const FIXED_BODY = process.argv[3] && process.argv[3] !== "-" ? readFileSync(process.argv[3]) : SMALL_BODY;
const [httpsPortArg, certFile, keyFile] = process.argv.slice(4);

const parked: ServerResponse[] = [];
let index = 12;

function answer(res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": FIXED_BODY.length, "X-Consul-Index": String(index) });
  res.end(FIXED_BODY);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.once("end", () => {
    if (req.method === "GET" && req.url?.includes("wait=")) {
      parked.push(res);
      return;
    }
    if (req.method === "PUT") {
      index++;
      for (const waiting of parked.splice(0)) answer(waiting);
    }
    answer(res);
  });
}

const server = createServer(handle);
server.keepAliveTimeout = 72_000;
server.listen(port, "127.0.0.1");

const httpsServer =
  httpsPortArg && certFile && keyFile ? createHttpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handle) : undefined;
if (httpsServer) {
  httpsServer.keepAliveTimeout = 72_000;
  httpsServer.listen(Number(httpsPortArg), "127.0.0.1");
}

process.once("SIGTERM", () => {
  server.closeAllConnections();
  httpsServer?.closeAllConnections();
  httpsServer?.close();
  server.close(() => process.exit(0));
});
