import { isTemplate, looksLikeUuid, type PreparedQuery } from "../model/prepared-query.ts";
import { CompiledTemplate, TemplateError } from "../state/prepared-query-template.ts";
import type { StateStore } from "../state/store.ts";
import type { ApplyResult, PreparedQueryDeleteCommand, PreparedQuerySetCommand } from "./command.ts";

// Prepared query writes (Consul's state.PreparedQuerySet / PreparedQueryDelete): the checks
// that need the whole table — unique names, no name equal to another query's ID, one catch-all
// template, an existing session, a template that compiles — run here, in apply, so every
// server decides the same. Error texts are Consul's.

export function applyPreparedQuerySet(state: StateStore, index: number, cmd: PreparedQuerySetCommand): ApplyResult {
  const table = state.preparedQueries;
  const q = cmd.Query;
  if (q.ID === "") return { ok: false, error: "Missing query ID" };
  const existing = table.get(q.ID);
  if (q.Name !== "") {
    const other = table.getByName(q.Name);
    if (other && (!existing || existing.ID !== other.ID)) return { ok: false, error: `name '${q.Name}' aliases an existing query name` };
  } else if (isTemplate(q)) {
    const other = table.catchAllTemplate();
    if (other && (!existing || existing.ID !== other.ID)) return { ok: false, error: "a query template with an empty name already exists" };
  }
  if (looksLikeUuid(q.Name) && table.get(q.Name)) return { ok: false, error: `name '${q.Name}' aliases an existing query ID` };
  if (q.Session !== "" && !state.sessions.get(q.Session)) return { ok: false, error: `invalid session "${q.Session}"` };
  const row: PreparedQuery = { ...q, CreateIndex: existing?.CreateIndex ?? index, ModifyIndex: index };
  let template: CompiledTemplate | undefined;
  if (isTemplate(row)) {
    try {
      template = new CompiledTemplate(row);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      return { ok: false, error: `failed compiling template: ${e.message}` };
    }
  }
  table.put(index, row, template);
  return { ok: true, value: row.ID };
}

export function applyPreparedQueryDelete(state: StateStore, index: number, cmd: PreparedQueryDeleteCommand): ApplyResult {
  state.preparedQueries.delete(index, cmd.ID);
  return { ok: true, value: true };
}
