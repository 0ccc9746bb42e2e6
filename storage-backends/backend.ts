import type { Writable } from 'node:stream';
import { TsdError } from '../shared/errors.js';

export type { FileInfo, FileWriter, StorageBackend } from '../shared/storage-backend.js';

export function notFound(path: string, cause?: unknown): TsdError {
  return new TsdError('NOT_FOUND', `path not found: ${path}`, { cause, detail: { path } });
}

/** Defence in depth: paths come from shared/paths.ts, but a backend still refuses to leave its root. */
export function checkPath(path: string): string {
  if (
    path.length === 0 ||
    path.startsWith('/') ||
    path.includes('\0') ||
    path.split('/').some((c) => c === '' || c === '.' || c === '..')
  ) {
    throw new TsdError('INVALID_ARGUMENT', `invalid storage path "${path.slice(0, 200)}"`);
  }
  return path;
}

/** Resolves once `chunk` has been handed to the kernel, so its buffer may be reused. */
export function writeBlock(destination: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(Object.assign(new Error('destination closed'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    destination.once('close', onClose);
    destination.write(chunk, (err) => {
      destination.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

