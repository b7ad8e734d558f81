import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";

// The yardstick: the least a node:http server can do per request. Every agent figure is divided
// by this server's figure from the same run, on the same machine, under the same load tool.
//
//   node --import tsx bench/bare-server.ts <port> [body-file]
//
// Any request is answered with one fixed small JSON body once its body has been read. For the
// fan-out case, a GET carrying `wait=` is parked instead, and the next PUT releases every parked
// request — the bare minimum a blocking query costs. With a body file it answers that file's
// bytes instead: the ceiling for an answer of that size.

const SMALL_BODY = Buffer.from(JSON.stringify({ Key: "bench/key", Value: "dmFsdWU=", Flags: 0, ModifyIndex: 12 }));
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error("usage: bare-server.ts <port> [body-file]");
const FIXED_BODY = process.argv[3] ? readFileSync(process.argv[3]) : SMALL_BODY;

const parked: ServerResponse[] = [];
let index = 12;

function answer(res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": FIXED_BODY.length, "X-Consul-Index": String(index) });
  res.end(FIXED_BODY);
}

const server = createServer((req, res) => {
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
});
server.keepAliveTimeout = 72_000;
server.listen(port, "127.0.0.1");

process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
