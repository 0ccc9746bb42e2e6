/**
 * One closed table of error codes. Registry codes are the OCI Distribution Spec's (plus the few
 * distribution adds); each row carries the HTTP status and the default message, so the wire form
 * is derived here and nowhere else.
 */
export const errorTable = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  // Not an OCI code: sent on the wire as MANIFEST_INVALID with 413, so clients see a code they know.
  MANIFEST_TOO_LARGE: { status: 413, message: 'manifest exceeds the size limit', wire: 'MANIFEST_INVALID' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  // Engine and local-store codes: never put on the registry wire by status, but share the class.
  NOT_FOUND: { status: 404, message: 'not found' },
  ALREADY_EXISTS: { status: 409, message: 'already exists' },
  INVALID_ARGUMENT: { status: 400, message: 'invalid argument' },
  CONFIG_INVALID: { status: 500, message: 'invalid configuration' },
} as const satisfies Record<string, { status: number; message: string; wire?: string }>;

export type ErrorCode = keyof typeof errorTable;

export class TsdError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  /** Extra response headers the error wants on the wire (e.g. Range on 416). */
  readonly headers: Record<string, string> | undefined;
  /** Only where the protocol wants another status for the same code (DENIED on a 401 challenge). */
  private readonly statusOverride: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; detail?: unknown; headers?: Record<string, string>; status?: number }) {
    super(message ?? errorTable[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsdError';
    this.code = code;
    this.detail = options?.detail;
    this.headers = options?.headers;
    this.statusOverride = options?.status;
  }

  get status(): number {
    return this.statusOverride ?? errorTable[this.code].status;
  }

  /** The OCI error body: `{"errors":[{"code","message","detail"}]}`. */
  toJSON(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    const row: { status: number; wire?: string } = errorTable[this.code];
    const entry: { code: string; message: string; detail?: unknown } = { code: row.wire ?? this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

export function isTsdError(err: unknown, code?: ErrorCode): err is TsdError {
  return err instanceof TsdError && (code === undefined || err.code === code);
}

/** Node's "no such file" in any of its shapes (fs errors and our backends' NotFound). */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT' || isTsdError(err, 'NOT_FOUND');
}
