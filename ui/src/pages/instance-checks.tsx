import { CheckList } from "../components/checks.tsx";
import { ErrorNote, HealthBadge, Loading, MetaTable, PageHeader, Tags } from "../components/common.tsx";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import { addressOf, instanceHealth, type HealthEntry } from "./service-instances.tsx";

export function InstanceChecksPage({ dc, service, node, id }: { dc: string; service: string; node: string; id: string }) {
  const live = useBlockingQuery<HealthEntry[]>(`/v1/health/service/${encodeURIComponent(service)}?dc=${encodeURIComponent(dc)}`);
  const entry = live.data?.find((e) => e.Node.Node === node && e.Service.ID === id);
  return (
    <>
      <PageHeader
        title={id}
        crumbs={
          <>
            <a href={href({ page: "services", dc })}>All Services</a> / <a href={href({ page: "service-instances", dc, service })}>{service}</a>
          </>
        }
      >
        {entry && (
          <p class="muted">
            <HealthBadge health={instanceHealth(entry)} /> Service <strong>{service}</strong> on node <a href={href({ page: "node-checks", dc, node })}>{node}</a> ·{" "}
            {addressOf(entry)}
          </p>
        )}
        <h2 class="tab">Health Checks</h2>
      </PageHeader>
      {live.error && <ErrorNote message={live.error} />}
      {live.loading ? (
        <Loading what="instance" />
      ) : !entry ? (
        <ErrorNote message={`No instance ${id} of ${service} on ${node}.`} />
      ) : (
        <>
          <CheckList checks={entry.Checks} label={`Health checks of ${id}`} />
          <section class="panel">
            <h3>Tags</h3>
            {entry.Service.Tags && entry.Service.Tags.length > 0 ? <Tags tags={entry.Service.Tags} /> : <p class="muted">None</p>}
          </section>
          <MetaTable meta={entry.Service.Meta} caption="Meta" />
        </>
      )}
    </>
  );
}
