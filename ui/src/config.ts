// The agent writes its settings into index.html as `data-consul-ui-config` JSON (as Consul
// does); the app reads them once at start.

export interface UiConfig {
  ContentPath: string;
  LocalDatacenter: string;
  ACLsEnabled: boolean;
}

export function readUiConfig(doc: Document): UiConfig {
  const el = doc.querySelector("script[data-consul-ui-config]");
  const parsed = el?.textContent ? (JSON.parse(el.textContent) as Partial<UiConfig>) : {};
  return {
    ContentPath: parsed.ContentPath ?? "/ui/",
    LocalDatacenter: parsed.LocalDatacenter ?? "dc1",
    ACLsEnabled: parsed.ACLsEnabled ?? false,
  };
}
