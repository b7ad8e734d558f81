import { CheckList } from "../components/checks.tsx";
import { ErrorNote, HealthBadge, Loading, MetaTable, PageHeader, Tags } from "../components/common.tsx";
import { healthOfChecks, nodeHealth } from "../health.ts";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import type { NodeInfo } from "./nodes.tsx";

export function NodeChecksPage({ dc, node }: { dc: string; node: string }) {
  const live = useBlockingQuery<NodeInfo>(`/v1/internal/ui/node/${encodeURIComponent(node)}?dc=${encodeURIComponent(dc)}`);
  const info = live.data;
  return (
    <>
      <PageHeader title={node} crumbs={<a href={href({ page: "nodes", dc })}>All Nodes</a>}>
        {info && (
          <p class="muted">
            <HealthBadge health={nodeHealth(info.Checks)} /> {info.Address}
          </p>
        )}
        <h2 class="tab">Health Checks</h2>
      </PageHeader>
      {live.error && <ErrorNote message={live.error} />}
      {live.loading ? (
        <Loading what="node" />
      ) : live.missing || !info ? (
        <ErrorNote message={`Node ${node} is not in the catalog.`} />
      ) : (
        <>
          <CheckList checks={info.Checks.filter((c) => c.ServiceID === "")} label={`Health checks of ${node}`} />
          <section class="panel">
            <h3>Service Instances</h3>
            {info.Services.length === 0 ? (
              <p class="muted">No services on this node.</p>
            ) : (
              <ul class="plain-list" aria-label={`Service instances on ${node}`}>
                {info.Services.map((s) => (
                  <li key={s.ID}>
                    <HealthBadge health={healthOfChecks(info.Checks.filter((c) => c.ServiceID === s.ID || c.ServiceID === ""))} />{" "}
                    <a href={href({ page: "instance-checks", dc, service: s.Service, node, id: s.ID })}>{s.ID}</a>
                    <span class="muted">
                      {" "}
                      {s.Service} · {s.Address || info.Address}:{s.Port}
                    </span>{" "}
                    <Tags tags={s.Tags} />
                  </li>
                ))}
              </ul>
            )}
          </section>
          <MetaTable meta={info.Meta} caption="Metadata" />
        </>
      )}
    </>
  );
}
