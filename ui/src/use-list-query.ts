import { useState } from "preact/hooks";
import { readListQuery, writeListQuery, type ListQuery } from "./list-query.ts";

/** A list's search/filter/sort, kept in the URL query (replaced, so Back leaves the page). */
export function useListQuery(defaultSort: string): [ListQuery, (q: ListQuery) => void] {
  const [query, setQuery] = useState<ListQuery>(() => readListQuery(location.search, defaultSort));
  const update = (q: ListQuery): void => {
    setQuery(q);
    history.replaceState(history.state, "", location.pathname + writeListQuery(q, defaultSort));
  };
  return [query, update];
}
