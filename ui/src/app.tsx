import { useEffect, useState } from "preact/hooks";
import { navigate, onLocationChange } from "./navigation.ts";
import { IntentionCreatePage, IntentionEditPage, IntentionsPage } from "./pages/intentions.tsx";
import { InstanceChecksPage } from "./pages/instance-checks.tsx";
import { KvCreatePage, KvEditPage, KvFolderPage } from "./pages/kv.tsx";
import { NodeChecksPage } from "./pages/node-checks.tsx";
import { NodesPage } from "./pages/nodes.tsx";
import { ServiceInstancesPage } from "./pages/service-instances.tsx";
import { ServicesPage } from "./pages/services.tsx";
import { parseRoute, type Route } from "./routes.ts";
import { href, site } from "./site.ts";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "services":
      return <ServicesPage dc={route.dc} />;
    case "service-instances":
      return <ServiceInstancesPage key={route.service} dc={route.dc} service={route.service} />;
    case "instance-checks":
      return <InstanceChecksPage dc={route.dc} service={route.service} node={route.node} id={route.id} />;
    case "nodes":
      return <NodesPage dc={route.dc} />;
    case "node-checks":
      return <NodeChecksPage key={route.node} dc={route.dc} node={route.node} />;
    case "kv-folder":
      return <KvFolderPage key={route.prefix} dc={route.dc} prefix={route.prefix} />;
    case "kv-edit":
      return <KvEditPage dc={route.dc} keyName={route.key} />;
    case "kv-create":
      return <KvCreatePage dc={route.dc} prefix={route.prefix} />;
    case "intentions":
      return <IntentionsPage dc={route.dc} />;
    case "intention-create":
      return <IntentionCreatePage dc={route.dc} />;
    case "intention-edit":
      return <IntentionEditPage key={`${route.source}:${route.destination}`} dc={route.dc} source={route.source} destination={route.destination} />;
    case "redirect":
      return null;
    case "not-found":
      return (
        <section>
          <h1>Page not found</h1>
          <p>
            <a href={href({ page: "services", dc: route.dc })}>Go to Services</a>
          </p>
        </section>
      );
  }
}

const SECTIONS = [
  { label: "Services", page: "services", matches: ["services", "service-instances", "instance-checks"] },
  { label: "Nodes", page: "nodes", matches: ["nodes", "node-checks"] },
  { label: "Key/Value", page: "kv-folder", matches: ["kv-folder", "kv-edit", "kv-create"] },
  { label: "Intentions", page: "intentions", matches: ["intentions", "intention-create", "intention-edit"] },
] as const;

function sectionHref(page: (typeof SECTIONS)[number]["page"], dc: string): string {
  return page === "kv-folder" ? href({ page, dc, prefix: "" }) : href({ page, dc });
}

function dcOf(route: Route): string {
  return route.page === "redirect" ? dcOf(route.to) : route.dc;
}

export function App() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => onLocationChange(() => setPath(location.pathname)), []);
  const route = parseRoute(path, site.base, site.localDc);
  useEffect(() => {
    if (route.page === "redirect") navigate(href(route.to), { replace: true });
  }, [path]);
  useEffect(() => {
    // After a navigation, move focus to the new page's heading so screen readers announce it.
    if (route.page !== "redirect" && document.activeElement !== document.body) document.querySelector<HTMLElement>("main h1")?.focus();
  }, [path]);
  useEffect(() => {
    const title = document.querySelector("main h1")?.textContent;
    document.title = title ? `${title} - Consul` : "Consul";
  });
  const dc = dcOf(route);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Consul</span>
        <span class="dc" title="Datacenter">
          {dc}
        </span>
        <nav aria-label="Main">
          <ul>
            {SECTIONS.map((s) => (
              <li key={s.page}>
                <a href={sectionHref(s.page, dc)} aria-current={(s.matches as readonly string[]).includes(route.page) ? "page" : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main">
        <Page route={route} />
      </main>
    </>
  );
}
