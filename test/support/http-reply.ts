// One HTTP call to an agent, answered as the tests read it: status, the JSON body when there
// is one, the raw text for assertion messages, and X-Consul-Index.

export interface Reply {
  status: number;
  body: unknown;
  text: string;
  index: number;
}

export async function callAgent(base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${base}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, index: Number(res.headers.get("x-consul-index")) };
}
