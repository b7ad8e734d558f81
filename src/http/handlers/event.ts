import { REMOTE_EXEC_EVENT } from "../../agent/remote-exec.ts";
import { errors } from "../../errors/catalog.ts";
import { parseGoDuration } from "../../model/duration.ts";
import { eventListIndex, type UserEvent } from "../../state/event-buffer.ts";
import type { Handler, HttpContext } from "../context.ts";
import { first, parseUint64 } from "../query.ts";
import { queryOptions } from "../read.ts";
import { json } from "../reply.ts";
import { requestAuthorizer } from "../request-authorizer.ts";

// /v1/event/*: spec/status-event-coordinate.md §2. Firing broadcasts the event as a gossip
// user event named `consul:event:<name>`; every agent that receives it (the firing one
// included) keeps it when its node/service/tag filters match that agent.

/** Serf's default UserEventSizeLimit. */
const USER_EVENT_SIZE_LIMIT = 512;
const EVENT_LIST_MAX_WAIT_MS = 10 * 60_000;

function eventView(e: UserEvent): Record<string, unknown> {
  return {
    ID: e.ID,
    Name: e.Name,
    Payload: e.Payload.length > 0 ? e.Payload.toString("base64") : null,
    NodeFilter: e.NodeFilter,
    ServiceFilter: e.ServiceFilter,
    TagFilter: e.TagFilter,
    Version: e.Version,
    LTime: e.LTime,
  };
}

function compileFilter(kind: string, source: string): RegExp | undefined {
  if (source === "") return undefined;
  try {
    return new RegExp(source);
  } catch (e) {
    throw errors.internal(`Invalid ${kind} filter: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Bytes of the msgpack string/bin header plus body, to size the gossip envelope as serf does. */
const strBytes = (n: number): number => n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
const binBytes = (n: number): number => n + (n < 256 ? 2 : n < 65536 ? 3 : 5);

/** Size serf checks: the event name it gossips plus Consul's encoded event (type byte + map). */
function encodedEventSize(e: Omit<UserEvent, "LTime">): number {
  let size = 1 + 1;
  for (const [k, v] of [["ID", e.ID], ["Name", e.Name], ["NodeFilter", e.NodeFilter], ["ServiceFilter", e.ServiceFilter], ["TagFilter", e.TagFilter]] as const) {
    size += strBytes(k.length) + strBytes(Buffer.byteLength(v));
  }
  size += strBytes("Payload".length) + binBytes(e.Payload.length);
  size += strBytes("Version".length) + 1;
  return Buffer.byteLength(`consul:event:${e.Name}`) + size;
}

/** Whether this agent should store an event: its node name and, if asked, a local service match. */
function matchesThisAgent(ctx: HttpContext, node?: RegExp, service?: RegExp, tag?: RegExp): boolean {
  if (node && !node.test(ctx.settings.nodeName)) return false;
  if (!service) return true;
  const services: { Service: string; Tags: string[] }[] = [...ctx.agent.localServices(), ...ctx.state.catalog.nodeServices(ctx.settings.nodeName)];
  return services.some((s) => service.test(s.Service) && (!tag || s.Tags.some((t) => tag.test(t))));
}

/** Consul prefixes its user events so other serf users' events pass by. */
const EVENT_PREFIX = "consul:event:";

interface WireEvent {
  ID: string;
  Name: string;
  Payload: string;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
}

function encodeWireEvent(e: Omit<UserEvent, "LTime">): Uint8Array {
  const wire: WireEvent = { ...e, Payload: e.Payload.toString("base64") };
  return Buffer.from(JSON.stringify(wire));
}

function decodeWireEvent(bytes: Uint8Array): Omit<UserEvent, "LTime"> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const w = raw as Partial<Record<keyof WireEvent, unknown>>;
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const id = str(w.ID);
  const name = str(w.Name);
  if (id === undefined || name === undefined) return undefined;
  return {
    ID: id,
    Name: name,
    Payload: Buffer.from(str(w.Payload) ?? "", "base64"),
    NodeFilter: str(w.NodeFilter) ?? "",
    ServiceFilter: str(w.ServiceFilter) ?? "",
    TagFilter: str(w.TagFilter) ?? "",
    Version: typeof w.Version === "number" ? w.Version : 1,
  };
}

function safeFilter(source: string): RegExp | undefined {
  try {
    return compileFilter("", source);
  } catch {
    return undefined;
  }
}

/** A gossip user event reached this agent: keep it when it is a Consul event whose filters match us. */
export function deliverUserEvent(ctx: HttpContext, received: { name: string; payload: Uint8Array }): void {
  if (!received.name.startsWith(EVENT_PREFIX)) return;
  const event = decodeWireEvent(received.payload);
  if (!event) {
    ctx.logger.named("agent").warn("Failed to decode event", { name: received.name });
    return;
  }
  const node = safeFilter(event.NodeFilter);
  const service = safeFilter(event.ServiceFilter);
  const tag = safeFilter(event.TagFilter);
  if (!matchesThisAgent(ctx, node, service, tag)) return;
  // `consul exec` jobs are run (or refused) here and never listed, as Consul's ingestUserEvent does.
  if (event.Name === REMOTE_EXEC_EVENT) {
    if (ctx.remoteExec) ctx.remoteExec.handle(event.ID, event.Payload);
    else ctx.logger.named("agent").info("ignoring remote exec event, disabled.", { event_name: event.Name, event_id: event.ID });
    return;
  }
  ctx.events.add(event);
}

const fire: Handler = (ctx, req) => {
  queryOptions(ctx, req);
  const name = req.suffix;
  if (name === "") throw errors.badRequest("Missing name");
  // Consul answers a refused fire with the bare text (agent/event_endpoint.go).
  if (!requestAuthorizer(ctx, req).allowed("event:write", name)) throw errors.permissionDenied();
  const nodeFilter = first(req.query, "node") ?? "";
  const serviceFilter = first(req.query, "service") ?? "";
  const tagFilter = first(req.query, "tag") ?? "";
  if (tagFilter !== "" && serviceFilter === "") throw errors.internal("Cannot provide tag filter without service filter");
  // Validated here for the errors; receivers (this agent too) match them on delivery.
  compileFilter("node", nodeFilter);
  compileFilter("service", serviceFilter);
  compileFilter("tag", tagFilter);
  const event: Omit<UserEvent, "LTime"> = {
    ID: ctx.rng.uuid(),
    Name: name,
    Payload: Buffer.from(req.body ?? Buffer.alloc(0)),
    NodeFilter: nodeFilter,
    ServiceFilter: serviceFilter,
    TagFilter: tagFilter,
    Version: 1,
  };
  const size = encodedEventSize(event);
  if (size > USER_EVENT_SIZE_LIMIT) {
    throw errors.internal(`user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes before encoding`);
  }
  ctx.membership.fireUserEvent(`${EVENT_PREFIX}${name}`, encodeWireEvent(event));
  return json(eventView({ ...event, LTime: 0 }));
};

/** Event list blocking differs from every other read: it waits while the index EQUALS ?index. */
const list: Handler = async (ctx, req) => {
  queryOptions(ctx, req);
  const name = first(req.query, "name") ?? "";
  const rawIndex = first(req.query, "index") ?? "";
  const minIndex = rawIndex === "" ? 0n : parseUint64(rawIndex);
  if (minIndex === undefined) throw errors.invalidIndex();
  const rawWait = first(req.query, "wait") ?? "";
  let waitMs = EVENT_LIST_MAX_WAIT_MS;
  if (rawWait !== "") {
    try {
      waitMs = Math.min(parseGoDuration(rawWait), EVENT_LIST_MAX_WAIT_MS);
    } catch {
      throw errors.invalidWait();
    }
    if (waitMs <= 0) waitMs = EVENT_LIST_MAX_WAIT_MS;
  }
  const buffer = ctx.events;
  // Events the token may not read (event:read by name) are dropped before the index is taken.
  const authz = requestAuthorizer(ctx, req);
  const visible = (all: UserEvent[]): UserEvent[] => all.filter((e) => authz.allowed("event:read", e.Name));
  let events = visible(buffer.list(name));
  if (minIndex > 0n && eventListIndex(events) === minIndex) {
    events = await new Promise<UserEvent[]>((resolve) => {
      let cancelWake: () => void = () => {};
      const timer = ctx.clock.setTimer(waitMs, () => {
        cancelWake();
        resolve(visible(buffer.list(name)));
      });
      const listen = (): void => {
        cancelWake = buffer.onNextEvent(() => {
          const now = visible(buffer.list(name));
          if (eventListIndex(now) !== minIndex) {
            timer.cancel();
            resolve(now);
          } else listen();
        });
      };
      listen();
    });
  }
  return json(events.map(eventView), 200, {
    "X-Consul-Index": eventListIndex(events).toString(),
    "X-Consul-KnownLeader": "true",
    "X-Consul-LastContact": "0",
  });
};

export const eventHandlers = { fire, list } satisfies Record<string, Handler>;
