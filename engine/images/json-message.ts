/**
 * The progress messages of the Docker Engine API (`POST /images/create`, `/images/{name}/push`,
 * `/images/load`): one JSON object per line. Pull and push emit them, the daemon streams them,
 * the CLI renders them. Field names and status strings are docker's, so the docker CLI renders
 * ours the same way.
 */
export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface JSONMessage {
  /** A layer's short id (12 hex) or a tag; lines with the same id are one row on a terminal. */
  id?: string;
  status?: string;
  progressDetail?: ProgressDetail;
  /** The rendered bar, `[=====>      ]  1.2MB/3.4MB` (old clients print this). */
  progress?: string;
  /** Push's last line: `{"Tag","Digest","Size"}`; load: `{"ID"}`. */
  aux?: Record<string, unknown>;
  /** docker's stream of plain output (`Loaded image: ...`). */
  stream?: string;
  errorDetail?: { code?: number; message: string };
  error?: string;
}

export type MessageSink = (message: JSONMessage) => void;

/** docker's go-units HumanSize: decimal units, 4 significant digits (`2.048kB`, `204.3kB`, `512B`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${Number(value.toPrecision(4))}${units[i]}`;
}

/**
 * The bar dockerd renders into `progress` (jsonmessage's JSONProgress at full width):
 * `[====>      ]  1.2MB/3.4MB`, 50 steps of 2% then `>`; only the count when the total is unknown
 * or the count has passed it.
 */
export function progressBar(detail: ProgressDetail): string {
  const current = detail.current ?? 0;
  const total = detail.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] `;
  return current > total ? `${bar}${humanSize(current).padStart(8)}` : `${bar}${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** A progress message with both the detail and the rendered bar, as dockerd sends it (its key order). */
export function progressMessage(id: string, status: string, current: number, total: number): JSONMessage {
  const progressDetail = { current, total };
  return { status, progressDetail, progress: progressBar(progressDetail), id };
}

/** A per-layer status line without progress (`Preparing`, `Pushed`), as dockerd sends it. */
export function statusMessage(id: string, status: string): JSONMessage {
  return { status, progressDetail: {}, id };
}

/** The 12-hex short form of a digest docker uses as a layer's id. */
export function shortId(digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

/** An error message line (the stream's last): docker prints `error` and exits 1. */
export function errorMessage(err: unknown): JSONMessage {
  const message = err instanceof Error ? err.message : String(err);
  return { errorDetail: { message }, error: message };
}
