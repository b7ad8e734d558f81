import { useEffect, useState } from "preact/hooks";
import { getJson, intentionDelete, intentionExactPath, intentionPut, intentionsPath, type IntentionJson } from "../api.ts";
import { ErrorNote, ListToolbar, Loading, PageHeader } from "../components/common.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { applyListQuery, byText, type Access, type ListSpec } from "../list-query.ts";
import { navigate } from "../navigation.ts";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import { useListQuery } from "../use-list-query.ts";

// Intentions (spec/ui.md §2, §3.3): the list from /v1/connect/intentions, live through the
// blocking loop; create, edit and delete through /v1/connect/intentions/exact as Consul's UI
// does. An intention with Layer 7 permissions ("app aware") is shown but not edited here: the
// form has only an action, and saving it would drop the permissions.

const access = (i: IntentionJson): Access => (i.Permissions && i.Permissions.length > 0 ? "app-aware" : i.Action === "deny" ? "deny" : "allow");
const ACCESS_LABEL: Record<Access, string> = { allow: "Allow", deny: "Deny", "app-aware": "App aware" };
const ACCESS_ORDER: Record<Access, number> = { allow: 0, deny: 1, "app-aware": 2 };
const name = (n: string): string => (n === "*" ? "* (All services)" : n);
const rowKey = (i: IntentionJson): string => `${i.SourceName}:${i.DestinationName}`;
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const spec: ListSpec<IntentionJson> = {
  searchable: (i) => [i.SourceName, i.DestinationName, i.Description ?? ""],
  access,
  sorts: [
    { key: "Precedence:desc", label: "Highest precedence", compare: (a, b) => b.Precedence - a.Precedence || byText(a.SourceName, b.SourceName) || byText(a.DestinationName, b.DestinationName) },
    { key: "Precedence:asc", label: "Lowest precedence", compare: (a, b) => a.Precedence - b.Precedence || byText(a.SourceName, b.SourceName) || byText(a.DestinationName, b.DestinationName) },
    { key: "Action:asc", label: "Allow to deny", compare: (a, b) => ACCESS_ORDER[access(a)] - ACCESS_ORDER[access(b)] || byText(a.SourceName, b.SourceName) },
    { key: "Action:desc", label: "Deny to allow", compare: (a, b) => ACCESS_ORDER[access(b)] - ACCESS_ORDER[access(a)] || byText(a.SourceName, b.SourceName) },
    { key: "SourceName:asc", label: "Source A to Z", compare: (a, b) => byText(a.SourceName, b.SourceName) || byText(a.DestinationName, b.DestinationName) },
    { key: "SourceName:desc", label: "Source Z to A", compare: (a, b) => byText(b.SourceName, a.SourceName) || byText(b.DestinationName, a.DestinationName) },
    { key: "DestinationName:asc", label: "Destination A to Z", compare: (a, b) => byText(a.DestinationName, b.DestinationName) || byText(a.SourceName, b.SourceName) },
    { key: "DestinationName:desc", label: "Destination Z to A", compare: (a, b) => byText(b.DestinationName, a.DestinationName) || byText(b.SourceName, a.SourceName) },
  ],
};

export function IntentionsPage({ dc }: { dc: string }) {
  const live = useBlockingQuery<IntentionJson[]>(intentionsPath(dc));
  const [query, setQuery] = useListQuery("Precedence:desc");
  const [error, setError] = useState<string | undefined>();
  const all = live.data ?? [];
  const rows = applyListQuery(all, query, spec);
  const link = (i: IntentionJson): string => href({ page: "intention-edit", dc, source: i.SourceName, destination: i.DestinationName });
  const remove = async (i: IntentionJson): Promise<void> => {
    if (!confirm(`Delete the intention from ${i.SourceName} to ${i.DestinationName}?`)) return;
    try {
      await intentionDelete(i.SourceName, i.DestinationName, dc);
      setError(undefined);
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <>
      <PageHeader title="Intentions">
        <p class="muted">{live.data ? `${live.data.length} total` : ""}</p>
        <a class="button" href={href({ page: "intention-create", dc })}>
          Create
        </a>
      </PageHeader>
      <ListToolbar label="intentions" query={query} onChange={setQuery} sorts={spec.sorts} withStatus={false} withAccess />
      {(error ?? live.error) && <ErrorNote message={(error ?? live.error) as string} />}
      {live.loading ? (
        <Loading what="intentions" />
      ) : all.length === 0 ? (
        <p class="muted">There are no intentions yet.</p>
      ) : (
        <VirtualList
          rows={rows}
          rowHeight={52}
          label="Intentions"
          keyOf={rowKey}
          onOpen={(i) => navigate(link(i))}
          header={
            <div class="list-header ixn-header" aria-hidden="true">
              <span>Source → Destination</span>
              <span>Action</span>
              <span>Precedence</span>
              <span />
            </div>
          }
          render={(i) => (
            <div class="row ixn-row" data-intention={rowKey(i)}>
              <span class="row-main">
                <a href={link(i)} tabIndex={-1}>
                  {name(i.SourceName)} → {name(i.DestinationName)}
                </a>
                {i.Description && <span class="muted ixn-desc">{i.Description}</span>}
              </span>
              <span class={`ixn-action ixn-${access(i)}`}>{ACCESS_LABEL[access(i)]}</span>
              <span class="row-num" title="Precedence">
                {i.Precedence}
              </span>
              <button type="button" class="link danger" aria-label={`Delete ${i.SourceName} → ${i.DestinationName}`} onClick={() => void remove(i)}>
                Delete
              </button>
            </div>
          )}
        />
      )}
    </>
  );
}

interface FormProps {
  dc: string;
  /** Editing this intention; absent: creating one. */
  existing?: IntentionJson;
}

function IntentionForm({ dc, existing }: FormProps) {
  const [source, setSource] = useState(existing?.SourceName ?? "");
  const [destination, setDestination] = useState(existing?.DestinationName ?? "");
  const [action, setAction] = useState<"allow" | "deny">(existing?.Action === "deny" ? "deny" : "allow");
  const [description, setDescription] = useState(existing?.Description ?? "");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const list = href({ page: "intentions", dc });

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    const src = source.trim();
    const dst = destination.trim();
    if (src === "" || dst === "") {
      setError("An intention needs a source and a destination.");
      return;
    }
    setBusy(true);
    try {
      // PUT …/exact replaces: a new intention must not silently overwrite one that exists.
      // (Asked of the list: a 404 from …/exact would show as a failed request in the console.)
      const current = existing ? undefined : (await getJson<IntentionJson[]>(intentionsPath(dc))).data;
      if (current?.some((i) => i.SourceName === src && i.DestinationName === dst)) {
        setError(`An intention from ${src} to ${dst} already exists.`);
        setBusy(false);
        return;
      }
      await intentionPut(src, dst, { Action: action, Description: description, ...(existing?.Meta ? { Meta: existing.Meta } : {}) }, dc);
      navigate(list);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };
  const remove = async (): Promise<void> => {
    if (!existing || !confirm(`Delete the intention from ${existing.SourceName} to ${existing.DestinationName}?`)) return;
    setBusy(true);
    try {
      await intentionDelete(existing.SourceName, existing.DestinationName, dc);
      navigate(list);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };

  return (
    <form class="kv-form" onSubmit={(e) => void save(e)} aria-label={existing ? "Edit intention" : "New intention"}>
      {error && <ErrorNote message={error} />}
      <label>
        Source service
        <span class="hint">A service name, or * for all services</span>
        <input name="source" required value={source} disabled={!!existing} onInput={(e) => setSource((e.currentTarget as HTMLInputElement).value)} autoFocus={!existing} />
      </label>
      <label>
        Destination service
        <span class="hint">A service name, or * for all services</span>
        <input name="destination" required value={destination} disabled={!!existing} onInput={(e) => setDestination((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <fieldset class="ixn-actions">
        <legend>Should this source connect to the destination?</legend>
        <label>
          <input type="radio" name="action" value="allow" checked={action === "allow"} onChange={() => setAction("allow")} /> Allow
        </label>
        <label>
          <input type="radio" name="action" value="deny" checked={action === "deny"} onChange={() => setAction("deny")} /> Deny
        </label>
      </fieldset>
      <label>
        Description
        <textarea name="description" rows={3} value={description} onInput={(e) => setDescription((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {existing ? "Save" : "Create"}
        </button>
        <a class="button secondary" href={list}>
          Cancel
        </a>
        {existing && (
          <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
            Delete
          </button>
        )}
      </div>
    </form>
  );
}

const crumbs = (dc: string) => <a href={href({ page: "intentions", dc })}>Intentions</a>;

export function IntentionCreatePage({ dc }: { dc: string }) {
  return (
    <>
      <PageHeader title="New Intention" crumbs={crumbs(dc)} />
      <IntentionForm dc={dc} />
    </>
  );
}

export function IntentionEditPage({ dc, source, destination }: { dc: string; source: string; destination: string }) {
  const [state, setState] = useState<{ found?: IntentionJson; missing?: boolean; error?: string }>({});
  useEffect(() => {
    const controller = new AbortController();
    getJson<IntentionJson>(intentionExactPath(source, destination, dc), controller.signal).then(
      (r) => setState(r.data ? { found: r.data } : { missing: true }),
      (err: unknown) => {
        if (!controller.signal.aborted) setState({ error: message(err) });
      },
    );
    return () => controller.abort();
  }, [dc, source, destination]);
  const { found } = state;
  return (
    <>
      <PageHeader title={`${name(source)} → ${name(destination)}`} crumbs={crumbs(dc)} />
      {state.error ? (
        <ErrorNote message={state.error} />
      ) : state.missing ? (
        <ErrorNote message={`There is no intention from ${source} to ${destination}.`} />
      ) : !found ? (
        <Loading what="intention" />
      ) : access(found) === "app-aware" ? (
        <p class="panel">This intention has Layer 7 permissions, which this form cannot show; edit its service-intentions config entry instead.</p>
      ) : (
        <IntentionForm dc={dc} existing={found} />
      )}
    </>
  );
}
