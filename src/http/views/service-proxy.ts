// Consul always renders a service's Proxy as an object whose MeshGateway and Expose are
// present (empty for non-proxies), and Connect as an object; clients index into both.

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

export function proxyView(proxy: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!proxy) return { MeshGateway: {}, Expose: {} };
  if (proxy.MeshGateway !== undefined && proxy.Expose !== undefined) return proxy;
  return { ...proxy, MeshGateway: proxy.MeshGateway ?? {}, Expose: proxy.Expose ?? {} };
}

export function connectView(connect: Record<string, unknown> | undefined): Record<string, unknown> {
  return connect ?? EMPTY;
}
