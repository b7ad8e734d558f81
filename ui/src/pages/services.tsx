import { Counts, ErrorNote, HealthBadge, ListToolbar, Loading, PageHeader, Tags } from "../components/common.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { HEALTH_ORDER, healthOfCounts } from "../health.ts";
import { applyListQuery, byText, type ListSpec } from "../list-query.ts";
import { navigate } from "../navigation.ts";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import { useListQuery } from "../use-list-query.ts";

export interface ServiceSummary {
  Kind?: string;
  Name: string;
  Datacenter: string;
  Tags: string[] | null;
  Nodes: string[];
  ExternalSources: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  ConnectedWithProxy: boolean;
}

const spec: ListSpec<ServiceSummary> = {
  searchable: (s) => [s.Name, ...(s.Tags ?? []), ...(s.ExternalSources ?? [])],
  health: healthOfCounts,
  sorts: [
    { key: "Status:asc", label: "Unhealthy to healthy", compare: (a, b) => HEALTH_ORDER[healthOfCounts(a)] - HEALTH_ORDER[healthOfCounts(b)] || byText(a.Name, b.Name) },
    { key: "Status:desc", label: "Healthy to unhealthy", compare: (a, b) => HEALTH_ORDER[healthOfCounts(b)] - HEALTH_ORDER[healthOfCounts(a)] || byText(a.Name, b.Name) },
    { key: "Name:asc", label: "A to Z", compare: (a, b) => byText(a.Name, b.Name) },
    { key: "Name:desc", label: "Z to A", compare: (a, b) => byText(b.Name, a.Name) },
    { key: "InstanceCount:desc", label: "Most instances", compare: (a, b) => b.InstanceCount - a.InstanceCount || byText(a.Name, b.Name) },
  ],
};

export function ServicesPage({ dc }: { dc: string }) {
  const live = useBlockingQuery<ServiceSummary[]>(`/v1/internal/ui/services?dc=${encodeURIComponent(dc)}`);
  const [query, setQuery] = useListQuery("Status:asc");
  // Proxies are listed with the service they front, not as rows of their own (as Consul's UI).
  const all = (live.data ?? []).filter((s) => s.Kind !== "connect-proxy");
  const rows = applyListQuery(all, query, spec);
  const link = (s: ServiceSummary): string => href({ page: "service-instances", dc, service: s.Name });
  return (
    <>
      <PageHeader title="Services">
        <p class="muted">{live.data ? `${all.length} total` : ""}</p>
      </PageHeader>
      <ListToolbar label="services" query={query} onChange={setQuery} sorts={spec.sorts} withStatus />
      {live.error && <ErrorNote message={live.error} />}
      {live.loading ? (
        <Loading what="services" />
      ) : (
        <VirtualList
          rows={rows}
          rowHeight={56}
          label="Services"
          keyOf={(s) => s.Name}
          onOpen={(s) => navigate(link(s))}
          header={
            <div class="list-header" aria-hidden="true">
              <span>Service</span>
              <span>Instances</span>
              <span>Checks</span>
            </div>
          }
          render={(s) => (
            <div class="row service-row" data-service={s.Name}>
              <HealthBadge health={healthOfCounts(s)} />
              <span class="row-main">
                <a href={link(s)} tabIndex={-1}>
                  {s.Name}
                </a>
                {s.ConnectedWithProxy && <span class="badge">in service mesh</span>}
                {(s.ExternalSources ?? []).map((src) => (
                  <span class="badge" key={src}>
                    {src}
                  </span>
                ))}
                <Tags tags={s.Tags} />
              </span>
              <span class="row-num">{s.InstanceCount === 1 ? "1 instance" : `${s.InstanceCount} instances`}</span>
              <Counts passing={s.ChecksPassing} warning={s.ChecksWarning} critical={s.ChecksCritical} />
            </div>
          )}
        />
      )}
    </>
  );
}
