// The two column layouts consul's commands print: ryanuber/columnize (members, catalog nodes)
// and text/tabwriter with padding 6 (kv get -detailed, catalog services -tags). Scripts parse
// these outputs, so widths and trailing spaces follow the Go libraries exactly.

/** Visible width as columnize counts it: code points, Han characters count twice. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /\p{Script=Han}/u.test(ch) ? 2 : 1;
  return width;
}

/**
 * columnize.Format with the given delimiter and glue "  ": every cell is trimmed, all but
 * the last cell of a row are padded to the column width, and the final newline is dropped.
 */
export function columnize(lines: readonly string[], delimiter = "|"): string {
  const rows = lines.map((line) => line.split(delimiter).map((cell) => cell.trim()));
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell));
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i] - displayWidth(cell)) + "  ")).join(""),
    )
    .join("\n");
}

/**
 * tabwriter.NewWriter(w, 0, 2, padding, ' ', 0) fed with rows of tab-separated cells: every
 * cell except the last of its row is padded to the widest cell of its column plus `padding`.
 * Rows are expected to share one column block, as all of consul's uses do.
 */
export function tabwriterAlign(rows: readonly (readonly string[])[], padding = 6): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell));
    });
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i] + padding - displayWidth(cell)))).join(""),
  );
}
