// fetch() over the mesh: the URL's host names a Connect destination, the request goes through
// an https.Agent that dials it with mTLS, and the answer is a standard Response.
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { ConnectError } from "../errors/connect-errors.ts";

export interface MeshFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/**
 * The destination a host names, as Go's connect resolver reads it: "<svc>.service.consul",
 * "<svc>.service.<dc>.consul", "<svc>.connect.consul" (any domain), or a bare "<svc>".
 */
export function destinationOfHost(host: string): { destination: string; datacenter: string } {
  const labels = host.toLowerCase().replace(/\.$/, "").split(".");
  if (labels.length === 1 && labels[0] !== "") return { destination: labels[0], datacenter: "" };
  if (labels.length >= 3 && (labels[1] === "service" || labels[1] === "connect")) {
    return { destination: labels[0], datacenter: labels.length >= 4 ? labels[2] : "" };
  }
  throw new ConnectError("BadDestination", `host "${host}" does not name a Connect service (want <service>.service.<domain>)`);
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export function meshFetch(url: string | URL, init: MeshFetchInit, agentFor: (destination: string, datacenter: string) => https.Agent): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== "https:") return Promise.reject(new ConnectError("BadDestination", `mesh fetch needs an https URL, got ${target.protocol}`));
  let dest: { destination: string; datacenter: string };
  try {
    dest = destinationOfHost(target.hostname);
  } catch (err) {
    return Promise.reject(err);
  }
  const agent = agentFor(dest.destination, dest.datacenter);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        agent,
        host: target.hostname,
        port: target.port === "" ? 443 : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: init.method ?? "GET",
        headers: init.headers,
        signal: init.signal,
      },
      (res: IncomingMessage) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const item of v) headers.append(k, item);
          else if (v !== undefined) headers.set(k, v);
        }
        const status = res.statusCode ?? 502;
        const body = NULL_BODY_STATUSES.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        if (body === null) res.resume();
        resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers }));
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}
