/** One column of a text table: a header and how to read the cell from a row. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/**
 * A cell as one printable line: null and undefined are empty, arrays are comma-joined, objects
 * are JSON. Control characters (a label may hold them) are shown as `?` so they cannot move the
 * cursor or break the layout of the terminal.
 */
export function cellText(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (Array.isArray(value)) text = value.map(cellText).join(',');
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    text = value.toString();
  else text = JSON.stringify(value) ?? '';
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** Left-aligned columns separated by two spaces, a header row, no trailing blanks. */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => cellText(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
