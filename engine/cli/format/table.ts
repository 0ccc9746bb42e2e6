/**
 * The table layout of docker's listings (Go's text/tabwriter with minwidth 10, padding 3, spaces):
 * every column but the last is padded to its widest cell plus 3, and to at least 10 characters;
 * the last cell of a row is written as it is.
 */
const defaults = { minWidth: 10, padding: 3 };

/** Width as tabwriter counts it: runes, not UTF-16 units. */
function cellWidth(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export function renderTable(rows: string[][], options: { minWidth?: number; padding?: number } = {}): string {
  const { minWidth, padding } = { ...defaults, ...options };
  const columns = Math.max(0, ...rows.map((r) => r.length - 1));
  const widths: number[] = [];
  for (let c = 0; c < columns; c++) {
    let width = minWidth;
    for (const row of rows) {
      if (c < row.length - 1) width = Math.max(width, cellWidth(row[c]!) + padding);
    }
    widths.push(width);
  }
  return rows
    .map((row) => row.map((cell, c) => (c < row.length - 1 ? cell + ' '.repeat(widths[c]! - cellWidth(cell)) : cell)).join('') + '\n')
    .join('');
}
