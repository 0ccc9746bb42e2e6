import { TsdError } from '../shared/errors.js';
import type { StorageBackend } from '../shared/storage-backend.js';
import { FilesystemBackend } from './filesystem.js';
import type { S3Options } from './s3.js';

/** Storage driver names as distribution's config spells them, and how to build each. */
/** Drivers load on demand: the AWS SDK alone costs a quarter second of start-up. */
export const backendFactories: Record<string, (options: Record<string, unknown>, extra: { redirect: boolean }) => Promise<StorageBackend>> = {
  filesystem: async (o) => {
    if (typeof o.rootdirectory !== 'string' || o.rootdirectory === '') throw new TsdError('CONFIG_INVALID', 'storage.filesystem.rootdirectory must be a path');
    return new FilesystemBackend(o.rootdirectory);
  },
  s3: async (o, extra) => {
    if (typeof o.bucket !== 'string' || o.bucket === '') throw new TsdError('CONFIG_INVALID', 'storage.s3.bucket is required');
    const numberOf = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
    const options: S3Options = { bucket: o.bucket, redirect: extra.redirect };
    for (const k of ['region', 'regionendpoint', 'accesskey', 'secretkey', 'rootdirectory', 'keyid'] as const) {
      if (o[k] !== undefined && o[k] !== '') options[k] = String(o[k]);
    }
    for (const k of ['forcepathstyle', 'encrypt', 'secure'] as const) if (o[k] !== undefined) options[k] = o[k] === true || o[k] === 'true';
    for (const k of ['chunksize', 'multipartcopythresholdsize', 'multipartcopychunksize', 'multipartcopymaxconcurrency'] as const) {
      const n = numberOf(k);
      if (n !== undefined) {
        if (!Number.isSafeInteger(n) || n <= 0) throw new TsdError('CONFIG_INVALID', `storage.s3.${k} must be a positive integer`);
        options[k] = n;
      }
    }
    const { S3Backend } = await import('./s3.js');
    return new S3Backend(options);
  },
};

/** Keys under `storage` that configure the registry rather than naming a driver. */
export const storageSettingKeys = new Set(['delete', 'maintenance', 'cache', 'redirect', 'tag']);
