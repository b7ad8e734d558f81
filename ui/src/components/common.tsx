import type { ComponentChildren } from "preact";
import type { Health } from "../health.ts";
import type { ListQuery, SortOption } from "../list-query.ts";

const HEALTH_LABEL: Record<Health, string> = { passing: "Passing", warning: "Warning", critical: "Critical", empty: "No checks" };
const HEALTH_ICON: Record<Health, string> = { passing: "✓", warning: "!", critical: "✕", empty: "–" };

export function HealthBadge({ health, label }: { health: Health; label?: string }) {
  return (
    <span class={`health health-${health}`} title={label ?? HEALTH_LABEL[health]}>
      <span aria-hidden="true">{HEALTH_ICON[health]}</span>
      <span class="visually-hidden">{label ?? HEALTH_LABEL[health]}</span>
    </span>
  );
}

export function Counts({ passing, warning, critical }: { passing: number; warning: number; critical: number }) {
  return (
    <span class="counts">
      <span class="count count-passing" title={`${passing} passing`}>
        {passing}
        <span class="visually-hidden"> passing</span>
      </span>
      <span class="count count-warning" title={`${warning} warning`}>
        {warning}
        <span class="visually-hidden"> warning</span>
      </span>
      <span class="count count-critical" title={`${critical} critical`}>
        {critical}
        <span class="visually-hidden"> critical</span>
      </span>
    </span>
  );
}

export function Tags({ tags }: { tags: readonly string[] | null | undefined }) {
  if (!tags || tags.length === 0) return null;
  return (
    <span class="tags">
      {tags.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </span>
  );
}

export function MetaTable({ meta, caption }: { meta: Record<string, string> | null | undefined; caption: string }) {
  const entries = Object.entries(meta ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return (
    <section class="panel">
      <h3>{caption}</h3>
      {entries.length === 0 ? (
        <p class="muted">None</p>
      ) : (
        <table class="meta">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ListToolbar<T>(props: {
  label: string;
  query: ListQuery;
  onChange: (q: ListQuery) => void;
  sorts: readonly SortOption<T>[];
  withStatus: boolean;
  withAccess?: boolean;
}) {
  const { query, onChange } = props;
  return (
    <form class="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
      <label>
        <span class="visually-hidden">Search {props.label}</span>
        <input
          type="search"
          placeholder={`Search ${props.label}`}
          value={query.search}
          onInput={(e) => onChange({ ...query, search: (e.currentTarget as HTMLInputElement).value })}
        />
      </label>
      {props.withStatus && (
        <label>
          Health
          <select aria-label="Health" value={query.status} onChange={(e) => onChange({ ...query, status: (e.currentTarget as HTMLSelectElement).value as ListQuery["status"] })}>
            <option value="">All</option>
            <option value="passing">Passing</option>
            <option value="warning">Warning</option>
            <option value="critical">Critical</option>
            <option value="empty">No checks</option>
          </select>
        </label>
      )}
      {props.withAccess && (
        <label>
          Action
          <select
            aria-label="Action"
            value={query.access ?? ""}
            onChange={(e) => {
              const value = (e.currentTarget as HTMLSelectElement).value as ListQuery["access"] | "";
              onChange({ search: query.search, status: query.status, sort: query.sort, ...(value ? { access: value } : {}) });
            }}
          >
            <option value="">All</option>
            <option value="allow">Allow</option>
            <option value="deny">Deny</option>
            <option value="app-aware">App aware</option>
          </select>
        </label>
      )}
      <label>
        Sort by
        <select aria-label="Sort by" value={query.sort} onChange={(e) => onChange({ ...query, sort: (e.currentTarget as HTMLSelectElement).value })}>
          {props.sorts.map((s) => (
            <option key={s.key} value={s.key}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ message }: { message: string }) {
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function PageHeader({ title, crumbs, children }: { title: string; crumbs?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      {crumbs && (
        <nav aria-label="Breadcrumb" class="crumbs">
          {crumbs}
        </nav>
      )}
      <h1 tabIndex={-1}>{title}</h1>
      {children}
    </header>
  );
}
