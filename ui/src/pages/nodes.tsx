import type { CheckJson } from "../components/checks.tsx";
import { ErrorNote, HealthBadge, ListToolbar, Loading, PageHeader } from "../components/common.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { HEALTH_ORDER, nodeHealth } from "../health.ts";
import { applyListQuery, byText, type ListSpec } from "../list-query.ts";
import { navigate } from "../navigation.ts";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import { useListQuery } from "../use-list-query.ts";

export interface NodeInfo {
  ID: string;
  Node: string;
  Address: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  Services: { ID: string; Service: string; Port: number; Address: string; Tags: string[] | null; Kind?: string }[];
  Checks: CheckJson[];
}

const health = (n: NodeInfo) => nodeHealth(n.Checks);

const spec: ListSpec<NodeInfo> = {
  searchable: (n) => [n.Node, n.Address, ...Object.values(n.Meta ?? {})],
  health,
  sorts: [
    { key: "Status:asc", label: "Unhealthy to healthy", compare: (a, b) => HEALTH_ORDER[health(a)] - HEALTH_ORDER[health(b)] || byText(a.Node, b.Node) },
    { key: "Node:asc", label: "A to Z", compare: (a, b) => byText(a.Node, b.Node) },
    { key: "Node:desc", label: "Z to A", compare: (a, b) => byText(b.Node, a.Node) },
    { key: "Services:desc", label: "Most services", compare: (a, b) => b.Services.length - a.Services.length || byText(a.Node, b.Node) },
  ],
};

export function NodesPage({ dc }: { dc: string }) {
  const live = useBlockingQuery<NodeInfo[]>(`/v1/internal/ui/nodes?dc=${encodeURIComponent(dc)}`);
  const [query, setQuery] = useListQuery("Status:asc");
  const rows = applyListQuery(live.data ?? [], query, spec);
  const link = (n: NodeInfo): string => href({ page: "node-checks", dc, node: n.Node });
  return (
    <>
      <PageHeader title="Nodes">
        <p class="muted">{live.data ? `${live.data.length} total` : ""}</p>
      </PageHeader>
      <ListToolbar label="nodes" query={query} onChange={setQuery} sorts={spec.sorts} withStatus />
      {live.error && <ErrorNote message={live.error} />}
      {live.loading ? (
        <Loading what="nodes" />
      ) : (
        <VirtualList
          rows={rows}
          rowHeight={48}
          label="Nodes"
          keyOf={(n) => n.Node}
          onOpen={(n) => navigate(link(n))}
          render={(n) => (
            <div class="row node-row" data-node={n.Node}>
              <HealthBadge health={health(n)} />
              <span class="row-main">
                <a href={link(n)} tabIndex={-1}>
                  {n.Node}
                </a>
                <span class="muted"> {n.Address}</span>
              </span>
              <span class="row-num">{n.Services.length === 1 ? "1 service" : `${n.Services.length} services`}</span>
            </div>
          )}
        />
      )}
    </>
  );
}
