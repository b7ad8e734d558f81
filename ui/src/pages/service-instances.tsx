import type { CheckJson } from "../components/checks.tsx";
import { ErrorNote, HealthBadge, ListToolbar, Loading, PageHeader, Tags } from "../components/common.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { HEALTH_ORDER, healthOfChecks, type Health } from "../health.ts";
import { applyListQuery, byText, type ListSpec } from "../list-query.ts";
import { navigate } from "../navigation.ts";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import { useListQuery } from "../use-list-query.ts";

export interface HealthEntry {
  Node: { Node: string; Address: string; Datacenter: string; Meta: Record<string, string> | null };
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[] | null; Meta: Record<string, string> | null; Kind?: string };
  Checks: CheckJson[];
}

export const instanceHealth = (e: HealthEntry): Health => healthOfChecks(e.Checks);
const serviceHealth = (e: HealthEntry): Health => healthOfChecks(e.Checks.filter((c) => c.ServiceID !== ""));
const nodeHealth = (e: HealthEntry): Health => healthOfChecks(e.Checks.filter((c) => c.ServiceID === ""));
export const addressOf = (e: HealthEntry): string => `${e.Service.Address || e.Node.Address}:${e.Service.Port}`;

const spec: ListSpec<HealthEntry> = {
  searchable: (e) => [e.Service.ID, e.Node.Node, addressOf(e), ...(e.Service.Tags ?? [])],
  health: instanceHealth,
  sorts: [
    { key: "Status:asc", label: "Unhealthy to healthy", compare: (a, b) => HEALTH_ORDER[instanceHealth(a)] - HEALTH_ORDER[instanceHealth(b)] || byText(a.Service.ID, b.Service.ID) },
    { key: "Name:asc", label: "A to Z", compare: (a, b) => byText(a.Service.ID, b.Service.ID) },
    { key: "Name:desc", label: "Z to A", compare: (a, b) => byText(b.Service.ID, a.Service.ID) },
    { key: "Node:asc", label: "Node", compare: (a, b) => byText(a.Node.Node, b.Node.Node) || byText(a.Service.ID, b.Service.ID) },
  ],
};

export function ServiceInstancesPage({ dc, service }: { dc: string; service: string }) {
  const live = useBlockingQuery<HealthEntry[]>(`/v1/health/service/${encodeURIComponent(service)}?dc=${encodeURIComponent(dc)}`);
  const [query, setQuery] = useListQuery("Status:asc");
  const entries = live.data ?? [];
  const rows = applyListQuery(entries, query, spec);
  const tags = [...new Set(entries.flatMap((e) => e.Service.Tags ?? []))].sort();
  const link = (e: HealthEntry): string => href({ page: "instance-checks", dc, service, node: e.Node.Node, id: e.Service.ID });
  return (
    <>
      <PageHeader title={service} crumbs={<a href={href({ page: "services", dc })}>All Services</a>}>
        <Tags tags={tags} />
        <h2 class="tab">Instances</h2>
      </PageHeader>
      <ListToolbar label="instances" query={query} onChange={setQuery} sorts={spec.sorts} withStatus />
      {live.error && <ErrorNote message={live.error} />}
      {live.loading ? (
        <Loading what="instances" />
      ) : entries.length === 0 ? (
        <p class="muted">This service has no instances.</p>
      ) : (
        <VirtualList
          rows={rows}
          rowHeight={64}
          label={`Instances of ${service}`}
          keyOf={(e) => `${e.Node.Node}/${e.Service.ID}`}
          onOpen={(e) => navigate(link(e))}
          render={(e) => (
            <div class="row instance-row" data-instance={e.Service.ID}>
              <HealthBadge health={instanceHealth(e)} />
              <span class="row-main">
                <a href={link(e)} tabIndex={-1}>
                  {e.Service.ID}
                </a>
                <span class="muted">
                  {" "}
                  on {e.Node.Node} · {addressOf(e)}
                </span>
                <Tags tags={e.Service.Tags} />
              </span>
              <span class="split-health">
                <span>
                  Service <HealthBadge health={serviceHealth(e)} label={`Service checks: ${serviceHealth(e)}`} />
                </span>
                <span>
                  Node <HealthBadge health={nodeHealth(e)} label={`Node checks: ${nodeHealth(e)}`} />
                </span>
              </span>
            </div>
          )}
        />
      )}
    </>
  );
}
