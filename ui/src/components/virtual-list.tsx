import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

// Renders only the rows in view (plus a margin), so a list of 10,000 services costs what a
// screenful does. Rows have one fixed height. The list is one tab stop; arrow keys, Page
// Up/Down, Home and End move focus to the link of the row they reach (roving focus), and Enter
// opens it.

export interface VirtualListProps<T> {
  rows: readonly T[];
  rowHeight: number;
  label: string;
  /** A stable key per row. */
  keyOf: (row: T) => string;
  render: (row: T) => ComponentChildren;
  /** Enter on the active row. */
  onOpen?: (row: T) => void;
  header?: ComponentChildren;
}

const OVERSCAN = 8;

export function VirtualList<T>(props: VirtualListProps<T>) {
  const { rows, rowHeight } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [active, setActive] = useState(-1);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = (): void => setViewport(el.clientHeight || 600);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (active >= rows.length) setActive(rows.length - 1);
  }, [rows.length, active]);

  // Once the active row is rendered, give its link the focus (only while the list has it).
  useEffect(() => {
    const el = scroller.current;
    if (!el || active < 0 || !el.contains(document.activeElement)) return;
    el.querySelector<HTMLElement>(`#row-${active} a`)?.focus({ preventScroll: true });
  }, [active, scrollTop]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / rowHeight) + OVERSCAN);
  const visible = rows.slice(first, last);

  const moveTo = (i: number): void => {
    const el = scroller.current;
    const target = Math.max(0, Math.min(rows.length - 1, i));
    setActive(target);
    if (!el) return;
    const top = target * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    const page = Math.max(1, Math.floor(viewport / rowHeight) - 1);
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(active + 1),
      ArrowUp: () => moveTo(active - 1),
      PageDown: () => moveTo(active + page),
      PageUp: () => moveTo(active - page),
      Home: () => moveTo(0),
      End: () => moveTo(rows.length - 1),
      Enter: () => {
        const row = rows[active];
        if (row !== undefined) props.onOpen?.(row);
      },
    };
    const action = keys[e.key];
    // Enter on a focused link is the link's own (a click); from the list itself it opens the row.
    if (!action || (e.key === "Enter" && (e.target as HTMLElement) !== scroller.current)) return;
    e.preventDefault();
    action();
  };

  return (
    <div class="vlist">
      {props.header}
      <div
        ref={scroller}
        class="vlist-scroller"
        role="list"
        aria-label={props.label}
        tabIndex={0}
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
        onKeyDown={onKeyDown}
      >
        <div class="vlist-space" style={{ height: `${rows.length * rowHeight}px` }}>
          {visible.map((row, i) => {
            const index = first + i;
            return (
              <div
                key={props.keyOf(row)}
                id={`row-${index}`}
                role="listitem"
                class={index === active ? "vlist-row active" : "vlist-row"}
                style={{ transform: `translateY(${index * rowHeight}px)`, height: `${rowHeight}px` }}
                onClick={() => setActive(index)}
              >
                {props.render(row)}
              </div>
            );
          })}
        </div>
      </div>
      <p class="vlist-count" aria-live="polite">
        {rows.length === 1 ? "1 item" : `${rows.length} items`}
      </p>
    </div>
  );
}
