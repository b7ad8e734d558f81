// Search, filter and sort for every list page, as plain functions over rows. The state lives
// in the URL query (`filter`, `status`, `access`, `sort`), as Consul's UI keeps it, so a view
// can be bookmarked.

import type { Health } from "./health.ts";

export interface ListQuery {
  search: string;
  status: Health | "";
  /** Intentions' action filter (Consul's `access`: allow, deny, app-aware); absent: all. */
  access?: Access;
  sort: string;
}

export type Access = "allow" | "deny" | "app-aware";

export interface SortOption<T> {
  key: string;
  label: string;
  compare: (a: T, b: T) => number;
}

export interface ListSpec<T> {
  /** Texts a search term is matched against (case-insensitive substring). */
  searchable: (row: T) => readonly string[];
  /** Row health for the status filter; absent: the list has no status filter. */
  health?: (row: T) => Health;
  /** Row action for the access filter; absent: the list has no access filter. */
  access?: (row: T) => Access;
  sorts: readonly SortOption<T>[];
}

export function readListQuery(search: string, defaultSort: string): ListQuery {
  const q = new URLSearchParams(search);
  const status = q.get("status") ?? "";
  const access = q.get("access");
  return {
    search: q.get("filter") ?? "",
    status: status === "passing" || status === "warning" || status === "critical" || status === "empty" ? status : "",
    ...(access === "allow" || access === "deny" || access === "app-aware" ? { access } : {}),
    sort: q.get("sort") ?? defaultSort,
  };
}

/** The query string for `query`, leaving defaults out. */
export function writeListQuery(query: ListQuery, defaultSort: string): string {
  const q = new URLSearchParams();
  if (query.search !== "") q.set("filter", query.search);
  if (query.status !== "") q.set("status", query.status);
  if (query.access) q.set("access", query.access);
  if (query.sort !== defaultSort) q.set("sort", query.sort);
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

export function applyListQuery<T>(rows: readonly T[], query: ListQuery, spec: ListSpec<T>): T[] {
  const terms = query.search.toLowerCase().split(/\s+/).filter((t) => t !== "");
  const health = spec.health;
  const out = rows.filter((row) => {
    if (query.status !== "" && health && health(row) !== query.status) return false;
    if (query.access && spec.access && spec.access(row) !== query.access) return false;
    if (terms.length === 0) return true;
    const texts = spec.searchable(row).map((t) => t.toLowerCase());
    return terms.every((term) => texts.some((t) => t.includes(term)));
  });
  const sort = spec.sorts.find((s) => s.key === query.sort) ?? spec.sorts[0];
  if (sort) out.sort(sort.compare);
  return out;
}

export const byText = (a: string, b: string): number => a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
