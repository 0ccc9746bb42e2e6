/** `tsdocker history [OPTIONS] IMAGE` (also `image history`): GET /images/{name}/history. */
import type { CommandSpec } from '../command-kit.js';
import { refSegment } from '../engine-api.js';
import { formatRows, isCustomFormat, type Row } from '../format/row-format.js';
import { renderTable } from '../format/table.js';
import { createdSince, humanSizeWithPrecision, rfc3339Local } from '../format/units.js';
import { truncateId } from './images.js';

export interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags?: string[] | null;
  Size: number;
  Comment: string;
}

interface HistoryOptions {
  format?: string;
  human?: boolean;
  trunc?: boolean;
  quiet?: boolean;
}

/** docker's Ellipsis: at most `width` characters, the last one `…` when cut. */
export function ellipsis(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

function shownId(id: string, trunc: boolean): string {
  return trunc && id !== '<missing>' ? truncateId(id) : id;
}

export function historyTable(entries: HistoryEntry[], options: { human: boolean; trunc: boolean; now?: number }): string {
  const header = ['IMAGE', options.human ? 'CREATED' : 'CREATED AT', 'CREATED BY', 'SIZE', 'COMMENT'];
  return renderTable([
    header,
    ...entries.map((e) => {
      const createdBy = e.CreatedBy.replace(/\t/g, ' ');
      return [
        shownId(e.Id, options.trunc),
        options.human ? createdSince(e.Created, options.now) : rfc3339Local(e.Created),
        options.trunc ? ellipsis(createdBy, 45) : createdBy,
        options.human ? humanSizeWithPrecision(e.Size, 3) : String(e.Size),
        e.Comment,
      ];
    }),
  ]);
}

/** The fields `--format` templates see for an entry. */
function templateRow(e: HistoryEntry, human: boolean, trunc: boolean): Row {
  const createdBy = e.CreatedBy.replace(/\t/g, ' ');
  return {
    Comment: e.Comment,
    CreatedAt: rfc3339Local(e.Created),
    CreatedBy: trunc ? ellipsis(createdBy, 45) : createdBy,
    CreatedSince: human ? createdSince(e.Created) : rfc3339Local(e.Created),
    ID: shownId(e.Id, trunc),
    Size: human ? humanSizeWithPrecision(e.Size, 3) : String(e.Size),
  };
}

const columnNames: Row = { Comment: 'COMMENT', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', CreatedSince: 'CREATED', ID: 'IMAGE', Size: 'SIZE' };

export const historyCommand: CommandSpec<HistoryOptions> = {
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  args: { exactly: 1 },
  options: (c) =>
    c
      .option('--format <string>', 'Format output using a custom template: table, table TEMPLATE, json or TEMPLATE')
      .option('-H, --human', 'Print sizes and dates in human readable format', true)
      .option('--no-human', 'Print sizes in bytes and dates in RFC 3339')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs'),
  async run(ctx, [image], options) {
    const entries = await ctx.api.json<HistoryEntry[]>({ method: 'GET', path: `/images/${refSegment(image!)}/history` });
    const trunc = options.trunc !== false;
    const human = options.human !== false;
    if (isCustomFormat(options.format)) {
      ctx.out(formatRows(options.format, entries.map((e) => templateRow(e, human, trunc)), columnNames));
      return;
    }
    if (options.quiet) {
      ctx.out(entries.map((e) => `${shownId(e.Id, trunc)}\n`).join(''));
      return;
    }
    ctx.out(historyTable(entries, { human, trunc }));
  },
};
