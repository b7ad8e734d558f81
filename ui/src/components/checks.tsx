import { healthOfChecks } from "../health.ts";
import { HealthBadge } from "./common.tsx";

export interface CheckJson {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Type: string;
}

/** Health checks with their output, worst first. */
export function CheckList({ checks, label }: { checks: readonly CheckJson[]; label: string }) {
  if (checks.length === 0) return <p class="muted">No health checks.</p>;
  const order = { critical: 0, warning: 1, passing: 2 } as Record<string, number>;
  const sorted = [...checks].sort((a, b) => (order[a.Status] ?? 3) - (order[b.Status] ?? 3) || a.Name.localeCompare(b.Name));
  return (
    <ul class="checks" aria-label={label}>
      {sorted.map((c) => (
        <li class={`check check-${c.Status}`} key={`${c.Node}/${c.CheckID}`}>
          <div class="check-head">
            <HealthBadge health={healthOfChecks([c])} />
            <strong class="check-name">{c.Name}</strong>
            <span class="muted">
              {c.CheckID}
              {c.Type ? ` · ${c.Type}` : ""}
              {c.ServiceID === "" ? " · node check" : ` · ${c.ServiceName}`}
            </span>
          </div>
          {c.Notes && <p class="check-notes">{c.Notes}</p>}
          <pre class="check-output" aria-label={`Output of ${c.Name}`}>
            {c.Output || "(no output)"}
          </pre>
        </li>
      ))}
    </ul>
  );
}
