import { useEffect, useState } from "preact/hooks";
import { decodeValue, getJson, kvDelete, kvEntryPath, kvKeysPath, kvPut } from "../api.ts";
import { ErrorNote, ListToolbar, Loading, PageHeader } from "../components/common.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { applyListQuery, byText, type ListSpec } from "../list-query.ts";
import { navigate } from "../navigation.ts";
import { href } from "../site.ts";
import { useBlockingQuery } from "../use-blocking-query.ts";
import { useListQuery } from "../use-list-query.ts";

// The key/value browser: folders are key prefixes ending in "/" (listed with
// `?keys&separator=/`); a folder is created as an empty key "name/", and deleted recursively.

const baseName = (key: string): string => {
  const trimmed = key.endsWith("/") ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) + (key.endsWith("/") ? "/" : "");
};

const parentOf = (key: string): string => {
  const trimmed = key.endsWith("/") ? key.slice(0, -1) : key;
  const at = trimmed.lastIndexOf("/");
  return at < 0 ? "" : trimmed.slice(0, at + 1);
};

function Crumbs({ dc, prefix }: { dc: string; prefix: string }) {
  const parts = prefix.split("/").filter((p) => p !== "");
  return (
    <>
      <a href={href({ page: "kv-folder", dc, prefix: "" })}>Key / Values</a>
      {parts.map((p, i) => (
        <span key={i}>
          {" / "}
          <a href={href({ page: "kv-folder", dc, prefix: `${parts.slice(0, i + 1).join("/")}/` })}>{p}</a>
        </span>
      ))}
    </>
  );
}

const isFolder = (k: string): boolean => k.endsWith("/");
const spec: ListSpec<string> = {
  searchable: (k) => [baseName(k)],
  sorts: [
    { key: "Kind:asc", label: "Folders first", compare: (a, b) => Number(isFolder(b)) - Number(isFolder(a)) || byText(a, b) },
    { key: "Key:asc", label: "A to Z", compare: byText },
    { key: "Key:desc", label: "Z to A", compare: (a, b) => byText(b, a) },
  ],
};

export function KvFolderPage({ dc, prefix }: { dc: string; prefix: string }) {
  const live = useBlockingQuery<string[]>(kvKeysPath(prefix, dc));
  const [query, setQuery] = useListQuery("Kind:asc");
  const [error, setError] = useState<string | undefined>();
  // The folder's own key ("a/b/") is listed under it; it is the folder, not a child.
  const keys = (live.data ?? []).filter((k) => k !== prefix);
  const rows = applyListQuery(keys, query, spec);
  const link = (k: string): string => (isFolder(k) ? href({ page: "kv-folder", dc, prefix: k }) : href({ page: "kv-edit", dc, key: k }));
  const remove = async (k: string): Promise<void> => {
    if (!confirm(`Delete ${isFolder(k) ? "folder" : "key"} ${k}${isFolder(k) ? " and everything in it" : ""}?`)) return;
    try {
      await kvDelete(k, dc);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <>
      <PageHeader title={prefix === "" ? "Key / Value" : baseName(prefix)} crumbs={prefix === "" ? undefined : <Crumbs dc={dc} prefix={parentOf(prefix)} />}>
        <a class="button" href={href({ page: "kv-create", dc, prefix })}>
          Create
        </a>
      </PageHeader>
      <ListToolbar label="keys" query={query} onChange={setQuery} sorts={spec.sorts} withStatus={false} />
      {(error ?? live.error) && <ErrorNote message={(error ?? live.error) as string} />}
      {live.loading ? (
        <Loading what="keys" />
      ) : keys.length === 0 ? (
        <p class="muted">{prefix === "" ? "There are no keys yet." : "This folder is empty."}</p>
      ) : (
        <VirtualList
          rows={rows}
          rowHeight={44}
          label={prefix === "" ? "Keys" : `Keys in ${prefix}`}
          keyOf={(k) => k}
          onOpen={(k) => navigate(link(k))}
          render={(k) => (
            <div class="row kv-row" data-key={k}>
              <span aria-hidden="true" class="kv-icon">
                {isFolder(k) ? "📁" : "🔑"}
              </span>
              <span class="row-main">
                <a href={link(k)} tabIndex={-1}>
                  {baseName(k)}
                </a>
              </span>
              <button type="button" class="link danger" aria-label={`Delete ${k}`} onClick={() => void remove(k)}>
                Delete
              </button>
            </div>
          )}
        />
      )}
    </>
  );
}

function KvForm({ dc, initialKey, prefix, editing }: { dc: string; initialKey: string; prefix: string; editing: boolean }) {
  const [name, setName] = useState(initialKey);
  const [value, setValue] = useState("");
  const [loaded, setLoaded] = useState(!editing);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const fullKey = editing ? initialKey : prefix + name;

  useEffect(() => {
    if (!editing) return;
    const controller = new AbortController();
    getJson<{ Value: string | null }[]>(kvEntryPath(initialKey, dc), controller.signal).then(
      (r) => {
        if (!r.data) setMissing(true);
        else setValue(decodeValue(r.data[0]?.Value ?? null));
        setLoaded(true);
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => controller.abort();
  }, [editing, initialKey, dc]);

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (fullKey === "" || fullKey === prefix) {
      setError("A key needs a name.");
      return;
    }
    setBusy(true);
    try {
      await kvPut(fullKey, isFolder(fullKey) ? "" : value, dc);
      navigate(href({ page: "kv-folder", dc, prefix: isFolder(fullKey) ? fullKey : parentOf(fullKey) }));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  const remove = async (): Promise<void> => {
    if (!confirm(`Delete key ${fullKey}?`)) return;
    setBusy(true);
    try {
      await kvDelete(fullKey, dc);
      navigate(href({ page: "kv-folder", dc, prefix: parentOf(fullKey) }));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  if (!loaded) return error ? <ErrorNote message={error} /> : <Loading what="key" />;
  if (missing) return <ErrorNote message={`Key ${initialKey} does not exist.`} />;
  return (
    <form class="kv-form" onSubmit={(e) => void save(e)} aria-label={editing ? `Edit ${initialKey}` : "New key"}>
      {error && <ErrorNote message={error} />}
      {!editing && (
        <label>
          Key or folder
          <span class="hint">To create a folder, end the name with a /</span>
          <span class="key-input">
            {prefix && <span class="muted">{prefix}</span>}
            <input name="key" required value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} autoFocus />
          </span>
        </label>
      )}
      {!isFolder(fullKey) && (
        <label>
          Value
          <textarea name="value" rows={10} value={value} onInput={(e) => setValue((e.currentTarget as HTMLTextAreaElement).value)} />
        </label>
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {editing ? "Save" : "Create"}
        </button>
        <a class="button secondary" href={href({ page: "kv-folder", dc, prefix: editing ? parentOf(initialKey) : prefix })}>
          Cancel
        </a>
        {editing && (
          <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
            Delete
          </button>
        )}
      </div>
    </form>
  );
}

export function KvEditPage({ dc, keyName }: { dc: string; keyName: string }) {
  return (
    <>
      <PageHeader title={baseName(keyName)} crumbs={<Crumbs dc={dc} prefix={parentOf(keyName)} />} />
      <KvForm key={keyName} dc={dc} initialKey={keyName} prefix={parentOf(keyName)} editing />
    </>
  );
}

export function KvCreatePage({ dc, prefix }: { dc: string; prefix: string }) {
  return (
    <>
      <PageHeader title="New Key / Value" crumbs={<Crumbs dc={dc} prefix={prefix} />} />
      <KvForm key={prefix} dc={dc} initialKey="" prefix={prefix} editing={false} />
    </>
  );
}
