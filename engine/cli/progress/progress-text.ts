/**
 * The progress text the docker CLI draws on a terminal from a message's `progressDetail`
 * (it recomputes it rather than printing the daemon's `progress` string): a 51-column bar when
 * the terminal is wider than 110 columns, then `current/total` with current right-aligned in 8.
 */
import type { ProgressDetail } from '../../images/json-message.js';
import { humanSize } from '../format/units.js';

export function progressText(detail: ProgressDetail, terminalWidth: number): string {
  const current = detail.current ?? 0;
  const total = detail.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const half = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = terminalWidth > 110 ? `[${'='.repeat(half)}>${' '.repeat(Math.max(0, 50 - half))}] ` : '';
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}
