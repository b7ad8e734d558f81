import type { Reply } from "./context.ts";

export const json = (value: unknown, status = 200, headers?: Record<string, string>): Reply => ({ kind: "json", status, value, headers });
export const text = (body: string | Buffer, status = 200, headers?: Record<string, string>): Reply => ({ kind: "text", status, body, headers });
/** Writes with no result answer 200 with an empty body. */
export const empty = (status = 200, headers?: Record<string, string>): Reply => ({ kind: "empty", status, headers });
