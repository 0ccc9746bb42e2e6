/**
 * `--format` for listings, as docker reads it: `json` (one object per row, keys sorted), `table
 * TEMPLATE` (a header row from the fields' column names, then the rows, laid out as a table on
 * the tabs the template writes), or a plain TEMPLATE (one line per row). `\t` and `\n` written
 * literally in the argument are a tab and a newline.
 */
import { parseTemplate } from './go-template.js';
import { renderTable } from './table.js';

export type Row = Record<string, string | null>;

function unescape(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** JSON as Go's json.Marshal writes a listing's row (`--format json`): <, >, &, U+2028/9 escaped. */
function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sortedKeys(row: Row): Row {
  return Object.fromEntries(Object.keys(row).sort().map((k) => [k, row[k]!]));
}

/** Is this a custom format at all (`table` alone means the default table)? */
export function isCustomFormat(format: string | undefined): format is string {
  return format !== undefined && format !== '' && format !== 'table';
}

export function formatRows(format: string, rows: Row[], headers: Row): string {
  if (format === 'json') return rows.map((r) => `${goJSON(sortedKeys(r))}\n`).join('');
  const table = format.startsWith('table');
  const template = parseTemplate(unescape(table ? format.slice('table'.length).trimStart() : format));
  if (!table) return rows.map((r) => `${template.execute(r)}\n`).join('');
  const lines = [template.execute(headers), ...rows.map((r) => template.execute(r))];
  return renderTable(lines.map((line) => line.split('\t')));
}
